/**
 * Shared test helpers: a server per test, a raw client for inspection, and
 * bounded waits.
 *
 * @module
 */

import { Redis } from "ioredis";
import { type RedisServer, startRedis } from "./redis_server.ts";
import { Locker } from "../mod.ts";
import type { Lock, LockerOptions, TurnEvent } from "../mod.ts";
import { presenceKey, resourceKeys } from "../src/protocol.ts";
import { FOLLOW_DIR, presencePath, resourcePaths } from "../src/file_layout.ts";
import { type Counters, writeState } from "../src/file_state.ts";
import { quit } from "../src/quit.ts";

/** Context handed to a test body by {@linkcode redisTest}. */
export interface RedisTestContext {
  readonly server: RedisServer;
  /** A plain client for looking at and poking the database. */
  readonly redis: Redis;
  /** A Locker on the test's server, closed after the test. */
  locker(options?: LockerOptions): Locker;
}

/** The backends every Locker behaviour test runs against. */
export const BACKENDS = ["redis", "file"] as const;

/** One of {@linkcode BACKENDS}. */
export type Backend = typeof BACKENDS[number];

/** Context handed to a test body by {@linkcode lockerTest}: any backend. */
export interface LockerTestContext {
  readonly backend: Backend;
  /** The URL of the test's lock domain, for Lockers in other processes. */
  readonly url: string;
  /** A Locker on the test's lock domain, closed after the test. */
  locker(options?: LockerOptions): Locker;
  /** What the queues left behind: Redis keys, or files under the root. */
  leftovers(): Promise<string[]>;
  /** Makes user `n` vanish without a word, as if its process was killed. */
  removePresence(resource: string, n: number): Promise<void>;
  /** Writes a queue's counters directly (a queue whose users all died). */
  setQueue(resource: string, counters: Counters): Promise<void>;
}

/** Runs `body` with Lockers that are closed afterwards. */
async function withLockers(
  url: string,
  body: (locker: (options?: LockerOptions) => Locker) => Promise<void>,
): Promise<void> {
  const lockers: Locker[] = [];
  try {
    await body((options = {}) => {
      const locker = new Locker({ url, ...options });
      lockers.push(locker);
      return locker;
    });
  } finally {
    await Promise.allSettled(lockers.map((l) => l.close()));
  }
}

async function withRedis(
  body: (context: RedisTestContext) => Promise<void>,
): Promise<void> {
  await using server = await startRedis();
  const redis = new Redis(server.port, "127.0.0.1");
  try {
    await withLockers(
      server.url,
      (locker) => body({ server, redis, locker }),
    );
  } finally {
    await quit(redis);
  }
}

/** Registers a Deno test that gets its own throwaway redis-server. */
export function redisTest(
  name: string,
  body: (context: RedisTestContext) => Promise<void>,
): void {
  Deno.test(name, () => withRedis(body));
}

function redisContext(t: RedisTestContext): LockerTestContext {
  return {
    backend: "redis",
    url: t.server.url,
    locker: t.locker,
    leftovers: () => allKeys(t.redis),
    async removePresence(resource, n) {
      await t.redis.del(presenceKey(resourceKeys(resource), n));
    },
    async setQueue(resource, { indicator, dispenser }) {
      const keys = resourceKeys(resource);
      await t.redis.mset(keys.dispenser, dispenser, keys.indicator, indicator);
    },
  };
}

/** Every file and directory under `root`, relative to it, sorted. */
export async function filesUnder(root: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${root}/${prefix}`)) {
      const path = `${prefix}${entry.name}`;
      found.push(path);
      if (entry.isDirectory) found.push(...await filesUnder(root, `${path}/`));
    }
  } catch (error) {
    // A directory removed while it was listed holds nothing.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}

async function withFiles(
  body: (context: LockerTestContext) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "turn-files-" });
  try {
    await withLockers(`file://${root}`, (locker) =>
      body({
        backend: "file",
        url: `file://${root}`,
        locker,
        // Followers' inboxes are not queues; the test's end checks them.
        leftovers: async () =>
          (await filesUnder(root)).filter((p) => !p.startsWith(FOLLOW_DIR)),
        async removePresence(resource, n) {
          await Deno.remove(presencePath(resourcePaths(root, resource), n));
        },
        async setQueue(resource, counters) {
          const paths = resourcePaths(root, resource);
          await Deno.mkdir(paths.dir, { recursive: true });
          await writeState(paths, counters);
        },
      }));
    // Once every Locker is closed, nothing at all is left behind.
    const left = await filesUnder(root);
    if (left.length > 0) {
      throw new Error(`files left behind: ${left.join(", ")}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * Registers one Locker behaviour test per backend (`name [redis]`,
 * `name [file]`): the same body, run against each.
 */
export function lockerTest(
  name: string,
  body: (context: LockerTestContext) => Promise<void>,
): void {
  for (const backend of BACKENDS) {
    Deno.test(
      `${name} [${backend}]`,
      () =>
        backend === "redis"
          ? withRedis((t) => body(redisContext(t)))
          : withFiles(body),
    );
  }
}

/** Resolves with `promise`, or rejects if it takes longer than `ms`. */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits, at most `ms`, until `check` is true: for states that no event
 * announces, such as "every waiter has drawn its number".
 */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  await within(
    (async () => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 10));
    })(),
    ms,
    what,
  );
}

/** Waits until `resource` has `users` live users in its queue. */
export function untilQueued(
  locker: Locker,
  resource: string,
  users: number,
): Promise<void> {
  return waitFor(
    async () => (await locker.status([resource]))[0]?.users.length === users,
    `${users} users queued on ${JSON.stringify(resource)}`,
  );
}

/** Collects events from `locker.follow(resources)` until one matches. */
export async function followUntil(
  locker: Locker,
  resources: string[] | undefined,
  done: (event: TurnEvent, seen: TurnEvent[]) => boolean,
): Promise<{ ready: Promise<void>; events: Promise<TurnEvent[]> }> {
  const follow = locker.follow(resources);
  const events = (async () => {
    const seen: TurnEvent[] = [];
    for await (const event of follow) {
      seen.push(event);
      if (done(event, seen)) break;
    }
    return seen;
  })();
  await follow.ready;
  return { ready: follow.ready, events };
}

/** Resolves with the reason once `lock`'s lease is lost, within 5 s. */
export function leaseLost(lock: Lock): Promise<unknown> {
  return within(
    new Promise((resolve) => {
      if (lock.signal.aborted) return resolve(lock.signal.reason);
      lock.signal.addEventListener("abort", () => resolve(lock.signal.reason));
    }),
    5000,
    "lease lost",
  );
}

/** All keys in the database, sorted. */
export async function allKeys(redis: Redis): Promise<string[]> {
  return (await redis.keys("*")).sort();
}

/** Path of a test fixture. */
export function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

/**
 * Runs `examples/<path>` with one command, as its README says, against a
 * throwaway redis-server; resolves to its exit code and standard output.
 */
export async function runExample(
  path: string,
): Promise<{ code: number; output: string }> {
  await using server = await startRedis();
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(`../examples/${path}`, import.meta.url).pathname,
    ],
    env: { TURN_REDIS_URL: server.url },
    stderr: "inherit",
  }).output();
  return { code, output: new TextDecoder().decode(stdout) };
}
