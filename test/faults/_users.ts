/**
 * Users in their own processes for the fault tests (`fixtures/user.ts`), the
 * witness they share, and ways to wait for what they report.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { within } from "../support/helpers.ts";

/** What one user process does. */
export interface UserConfig {
  /** The Redis that turn uses (the one the faults hit). */
  readonly url: string;
  /** A separate Redis for the witness, never faulted. */
  readonly witnessUrl: string;
  readonly resource: string;
  readonly label: string;
  readonly expire?: number;
  readonly timeout?: number;
  readonly patience?: number;
  /** Hold the turn this long (default: until the lease is lost). */
  readonly holdMs?: number;
  /** Block the event loop this long after a first step, then try a second. */
  readonly blockMs?: number;
}

/** What one soak worker (`fixtures/soak_worker.ts`) does. */
export interface SoakConfig extends UserConfig {
  /** Each cycle takes a turn on one of these, at random. */
  readonly resources: readonly string[];
  readonly cycles: number;
  /** Each turn is held for a random time up to this. */
  readonly maxHoldMs: number;
}

/** One line a user process reported. */
export interface UserEvent {
  readonly event:
    | "granted"
    | "lost"
    | "resumed"
    | "released"
    | "failed"
    | "done"
    | "exit";
  readonly at: number;
  readonly number?: number;
  readonly inside?: number;
  readonly lost?: boolean;
  readonly waited?: number;
  readonly name?: string;
  readonly message?: string;
  /** From a soak worker's `done`: what its cycles saw. */
  readonly cycles?: number;
  readonly maxWait?: number;
  readonly lostLeases?: number;
  readonly timeouts?: number;
}

// Witness keys live on the witness server; `holding` maps a label to the
// resource it is inside, so a user killed inside can be let out afterwards;
// `grants:<r>` lists grant times, `overlaps` counts entries into a busy one.
const ENTER = `
local inside = redis.call('INCR', KEYS[1])
if inside > tonumber(redis.call('GET', KEYS[2]) or 0) then redis.call('SET', KEYS[2], inside) end
if inside > 1 then redis.call('INCR', 'overlaps') end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('RPUSH', 'grants:' .. ARGV[2], ARGV[3])
return inside`;
const LEAVE = `
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('DECR', KEYS[1])
end`;

function witnessKeys(resource: string): [string, string, string] {
  return [`inside:${resource}`, `max:${resource}`, "holding"];
}

/** Counts the caller in; returns how many are inside now (must be 1). */
export async function enterWitness(
  witness: Redis,
  resource: string,
  label: string,
): Promise<number> {
  return Number(
    await witness.eval(
      ENTER,
      3,
      ...witnessKeys(resource),
      label,
      resource,
      Date.now(),
    ),
  );
}

/** Counts the caller out (if it is in). */
export async function leaveWitness(
  witness: Redis,
  resource: string,
  label: string,
): Promise<void> {
  const [inside, , holding] = witnessKeys(resource);
  await witness.eval(LEAVE, 2, inside, holding, label, resource);
}

/** The resource each user is inside now, by label. */
export async function holders(witness: Redis): Promise<Record<string, string>> {
  return await witness.hgetall(witnessKeys("")[2]);
}

/** How many times a user entered a resource someone was inside. */
export async function overlaps(witness: Redis): Promise<number> {
  return Number(await witness.get("overlaps") ?? 0);
}

/** When each user was granted `resource`, in order. */
export async function grantTimes(
  witness: Redis,
  resource: string,
): Promise<number[]> {
  return (await witness.lrange(`grants:${resource}`, 0, -1)).map(Number);
}

/** The most users ever inside `resource` at once. */
export async function mostInside(
  witness: Redis,
  resource: string,
): Promise<number> {
  return Number(await witness.get(witnessKeys(resource)[1]) ?? 0);
}

/** A user process and what it has reported so far. */
export class User {
  readonly config: UserConfig;
  readonly events: UserEvent[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #changed = new EventTarget();
  readonly #done: Promise<void>;
  readonly status: Promise<Deno.CommandStatus>;
  #ended = false;

  /** Starts `fixtures/<fixture>` with `config` as its argument. */
  constructor(config: UserConfig, fixture = "user.ts") {
    this.config = config;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(`./fixtures/${fixture}`, import.meta.url).pathname,
        JSON.stringify(config),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.status = this.#child.status;
    this.#done = this.#read();
  }

  get label(): string {
    return this.config.label;
  }

  async #read(): Promise<void> {
    let buffer = "";
    for await (
      const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("{")) this.events.push(JSON.parse(line));
      }
      this.#changed.dispatchEvent(new Event("change"));
    }
    this.#ended = true;
    this.#changed.dispatchEvent(new Event("change"));
  }

  /** The first event of this kind, if reported. */
  find(kind: UserEvent["event"]): UserEvent | undefined {
    return this.events.find((e) => e.event === kind);
  }

  /** Waits, at most `ms`, until the user reports an event of this kind. */
  until(kind: UserEvent["event"], ms = 30_000): Promise<UserEvent> {
    return within(
      new Promise((resolve, reject) => {
        const check = () => {
          const found = this.find(kind);
          if (found) resolve(found);
          else if (this.#ended) reject(new Error(`${this.label} ended`));
          else return;
          this.#changed.removeEventListener("change", check);
        };
        this.#changed.addEventListener("change", check);
        check();
      }),
      ms,
      `${this.label} reports ${kind}`,
    );
  }

  /** Waits for the process to exit by itself, and expects success. */
  async exit(ms = 30_000): Promise<void> {
    const status = await within(this.status, ms, `${this.label} exits`);
    await this.#done;
    assert.equal(status.code, 0, `${this.label} exit code`);
  }

  /** Sends a signal (SIGSTOP, SIGCONT) without waiting for anything. */
  signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Kills the process and waits until it is gone. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    await this.status;
    await this.#done;
  }
}
