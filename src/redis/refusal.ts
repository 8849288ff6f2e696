/**
 * Names the command an ACL refused inside a script. Redis 7.0 says only "The
 * user executing the script can't run this command"; later versions name it.
 * Either way the caller learns which one: the script's commands are checked
 * with `redis.acl_check_cmd` (Redis 7), one EVAL that changes nothing.
 *
 * @module
 */

import type { Client } from "./client.ts";
import type { Script } from "./scripts.ts";

const SCRIPT_REFUSED = /^ERR The user executing the script can't run/;

const CHECK = `
local refused = {}
for _, name in ipairs(ARGV) do
  if not redis.acl_check_cmd(name) then refused[#refused + 1] = name end
end
return refused`;

const commandLists = new WeakMap<Script, string[]>();

/** The commands `script` may call, lower-case, in order of first use. */
export function commandsOf(script: Script): string[] {
  let names = commandLists.get(script);
  if (!names) {
    const called = script.lua.matchAll(/redis\.p?call\('([A-Za-z]+)'/g);
    names = [...new Set([...called].map(([, name]) => name.toLowerCase()))];
    commandLists.set(script, names);
  }
  return names;
}

/**
 * `error` with the refused command named, when it is Redis 7.0's unnamed
 * refusal of a command inside `script` (run with `keys`, which routes the
 * check to the same server); otherwise `error` unchanged.
 */
export async function nameRefusal(
  client: Client,
  script: Script,
  keys: readonly string[],
  error: unknown,
): Promise<unknown> {
  if (!(error instanceof Error) || !SCRIPT_REFUSED.test(error.message)) {
    return error;
  }
  let refused: string[];
  try {
    refused = await client.eval(
      CHECK,
      keys.length,
      ...keys,
      ...commandsOf(script),
    ) as string[];
  } catch {
    return error; // the check itself was refused: Redis's words stand
  }
  if (refused.length === 0) return error;
  // The reply error keeps its class and Redis's words, so callers still
  // see Redis's refusal.
  error.message = `${
    error.message.replace(/\.?\s*$/, "")
  }: the user may not run ${refused.map((name) => `'${name}'`).join(", ")}`;
  return error;
}
