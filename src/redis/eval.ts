/**
 * Runs the protocol's Lua scripts: EVALSHA first, EVAL when the server does
 * not have the script cached (NOSCRIPT), alone or many in one pipeline. On a
 * Redis Cluster, a script whose slot is being moved is tried again for a
 * while (see slot_move.ts).
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Client } from "./client.ts";
import type { Script } from "./scripts.ts";
import { nameRefusal } from "./refusal.ts";
import { rejecting } from "../wait.ts";
import { forMs, SLOT_MOVE_WAIT_MS, whileSlotMoves } from "./slot_move.ts";

/** One script invocation. */
export interface ScriptCall {
  readonly script: Script;
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
}

/** The outcome of one call in a batch: an error, or the script's reply. */
export type CallResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: Error };

const shas = new WeakMap<Script, string>();

function shaOf(script: Script): string {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script.lua).digest("hex");
    shas.set(script, sha);
  }
  return sha;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

function evalArgs(call: ScriptCall): [number, ...(string | number)[]] {
  return [call.keys.length, ...call.keys, ...call.args];
}

/**
 * Runs one script and returns its reply. EVALSHA goes out at once; only a
 * failure takes the longer road (see `afterFailure`). While its slot is
 * being moved, it tries again as long as `keepTrying()` says so (by default
 * for `SLOT_MOVE_WAIT_MS` from now).
 */
export function runScript(
  client: Client,
  call: ScriptCall,
  keepTrying?: () => boolean,
): Promise<unknown> {
  return runAndRead(client, call, (reply) => reply, keepTrying);
}

/**
 * Runs one script, as `runScript`, and gives its reply read by `read`, in
 * the same step as the reply comes.
 */
export function runAndRead<R>(
  client: Client,
  call: ScriptCall,
  read: (reply: unknown) => R,
  keepTrying?: () => boolean,
): Promise<R> {
  const sentAt = keepTrying ? 0 : Date.now();
  const onFailure = (error: unknown) =>
    afterFailure(
      client,
      call,
      error,
      keepTrying ?? forMs(SLOT_MOVE_WAIT_MS, sentAt),
    ).then(read);
  return evalSha(client, call).then(read, onFailure);
}

/** EVALSHA of the call; what the client throws, it rejects with. */
function evalSha(client: Client, call: ScriptCall): Promise<unknown> {
  return rejecting(() => client.evalsha(shaOf(call.script), ...evalArgs(call)));
}

/**
 * The rest of a call whose EVALSHA failed with `error`: EVAL when the server
 * does not have the script cached (NOSCRIPT), the whole call again while its
 * slot is being moved, and a refused command named.
 */
async function afterFailure(
  client: Client,
  call: ScriptCall,
  error: unknown,
  keepTrying: () => boolean,
): Promise<unknown> {
  let first = true;
  // The first attempt is the failed one, finished.
  const attempt = () => {
    if (!first) return evalOnce(client, call);
    first = false;
    return isNoScript(error) ? evalSource(client, call) : Promise.reject(error);
  };
  try {
    return await whileSlotMoves(attempt, keepTrying);
  } catch (error) {
    throw await nameRefusal(client, call.script, call.keys, error);
  }
}

async function evalOnce(client: Client, call: ScriptCall): Promise<unknown> {
  try {
    return await evalSha(client, call);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await evalSource(client, call);
  }
}

function evalSource(client: Client, call: ScriptCall): Promise<unknown> {
  return client.eval(call.script.lua, ...evalArgs(call));
}

async function settle(
  client: Client,
  call: ScriptCall,
): Promise<CallResult> {
  try {
    return { ok: true, value: await runScript(client, call) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/**
 * Runs many scripts in one round trip (a pipeline). Calls the server had no
 * cached script for are run again with EVAL, once each script is loaded.
 * On a Redis Cluster, where a pipeline must stay in one slot, the calls run
 * side by side instead, each routed to its slot's master.
 */
export async function runScripts(
  client: Client,
  calls: readonly ScriptCall[],
): Promise<CallResult[]> {
  if (calls.length === 0) return [];
  if (client.isCluster) {
    return await Promise.all(calls.map((call) => settle(client, call)));
  }
  const pipeline = client.pipeline();
  for (const call of calls) {
    pipeline.evalsha(shaOf(call.script), ...evalArgs(call));
  }
  const replies = (await pipeline.exec()) ?? [];
  return Promise.all(calls.map(async (call, index) => {
    const [error, value] = replies[index] ?? [new Error("no reply"), null];
    if (!error) return { ok: true, value };
    if (isNoScript(error)) return await settle(client, call);
    const named = await nameRefusal(client, call.script, call.keys, error);
    return { ok: false, error: named as Error };
  }));
}
