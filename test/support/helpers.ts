/**
 * Shared test helpers: a server per test, a raw client for inspection,
 * bounded waits, and faults of pub/sub.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { type RedisServer, startRedis } from "../../support/redis_server.ts";
import { filesUnder } from "../../support/files.ts";

export { filesUnder };
import { Locker } from "../../mod.ts";
import type { Lock, LockerOptions, LockOptions, TurnEvent } from "../../mod.ts";
import {
  FENCE_PATTERN,
  presenceKey,
  resourceKeys,
  resourceOf,
} from "../../src/redis/keys.ts";
import {
  FENCE_DIR,
  FOLLOW_DIR,
  presencePath,
  resourceOfDirName,
  resourcePaths,
} from "../../src/file/layout.ts";
import { type Counters, writeState } from "../../src/file/state.ts";
import { quit } from "../../src/redis/client.ts";
import { WarmLockers } from "./warm.ts";

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

/** How a behaviour test's Lockers are made: fresh per test, or warm. */
export type LockerMode = "fresh" | "warm";

/** What a test may do with its lock domain, whatever the backend. */
interface LockDomain {
  readonly backend: Backend;
  /** The URL of the test's lock domain, for Lockers in other processes. */
  readonly url: string;
  /** What the queues left behind: Redis keys, or files under the root. */
  leftovers(): Promise<string[]>;
  /** Makes user `n` vanish without a word, as if its process was killed. */
  removePresence(resource: string, n: number): Promise<void>;
  /** Writes a queue's counters directly (a queue whose users all died). */
  setQueue(resource: string, counters: Counters): Promise<void>;
  /** The resources that keep a fencing token, sorted. */
  fences(): Promise<string[]>;
  /** Channels and patterns someone listens on (none for the file backend). */
  listening(): Promise<string[]>;
}

/** Context handed to a test body by {@linkcode lockerTest}: any backend. */
export interface LockerTestContext extends LockDomain {
  readonly mode: LockerMode;
  /**
   * A Locker on the test's lock domain. Fresh mode: a new one, closed after
   * the test. Warm mode: the first calls with no options get the file's
   * long-lived Lockers, one per role, each with a history of turns; later
   * calls get new ones.
   */
  locker(options?: LockerOptions): Locker;
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
  // A test may stop the server; the client's reconnect errors are expected.
  redis.on("error", () => {});
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
  Deno.test(name, guarded(() => withRedis(body)));
}

/**
 * Redis keys without the fence keys: the one key an idle resource keeps on
 * purpose, so its fencing tokens keep growing.
 */
export function withoutFences(keys: string[]): string[] {
  return keys.filter((key) =>
    resourceOf(key, "fence") === undefined &&
    resourceOf(key, "fence", true) === undefined
  );
}

function redisDomain(server: RedisServer, redis: Redis): LockDomain {
  return {
    backend: "redis",
    url: server.url,
    leftovers: () => allKeys(redis),
    fences: async () =>
      (await redis.keys(FENCE_PATTERN)).map((k) => resourceOf(k, "fence")!)
        .sort(),
    async removePresence(resource, n) {
      await redis.del(presenceKey(resourceKeys(resource), n));
    },
    async listening() {
      const channels = await redis.pubsub("CHANNELS") as string[];
      const patterns = Number(await redis.pubsub("NUMPAT"));
      return [...channels, ...(patterns > 0 ? [`${patterns} pattern(s)`] : [])];
    },
    async setQueue(resource, { indicator, dispenser }) {
      const keys = resourceKeys(resource);
      await redis.mset(keys.dispenser, dispenser, keys.indicator, indicator);
    },
  };
}

function fileDomain(root: string): LockDomain {
  return {
    backend: "file",
    url: `file://${root}`,
    // Followers' inboxes are not queues; the test's end checks them.
    leftovers: async () =>
      (await filesUnder(root)).filter((p) => !p.startsWith(FOLLOW_DIR)),
    fences: async () => {
      const names: string[] = [];
      try {
        for await (const entry of Deno.readDir(`${root}/${FENCE_DIR}`)) {
          names.push(resourceOfDirName(entry.name)!);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      return names.sort();
    },
    async removePresence(resource, n) {
      await Deno.remove(presencePath(resourcePaths(root, resource), n));
    },
    listening: () => Promise.resolve([]),
    async setQueue(resource, counters) {
      const paths = resourcePaths(root, resource);
      await Deno.mkdir(paths.dir, { recursive: true });
      await writeState(paths, counters);
    },
  };
}

/** Once every Locker is closed, nothing at all is left under `root`. */
async function assertNothingUnder(root: string): Promise<void> {
  const left = await filesUnder(root);
  if (left.length > 0) {
    throw new Error(`files left behind: ${left.join(", ")}`);
  }
}

async function withFiles(
  body: (context: LockerTestContext) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "turn-files-" });
  try {
    await withLockers(
      `file://${root}`,
      (locker) => body({ ...fileDomain(root), mode: "fresh", locker }),
    );
    await assertNothingUnder(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * One backend's lock domain and warm Lockers, shared by the warm tests of
 * one file: started by the first, closed by a last test registered after the
 * file's own.
 */
class WarmWorld {
  readonly backend: Backend;
  #started: Promise<{ domain: LockDomain; stop(): Promise<void> }> | undefined;
  #lockers: WarmLockers | undefined;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  #start() {
    return this.#started ??= this.backend === "redis"
      ? startRedisDomain()
      : startFileDomain();
  }

  async run(body: (context: LockerTestContext) => Promise<void>) {
    const { domain } = await this.#start();
    const lockers = this.#lockers ??= new WarmLockers({ url: domain.url });
    await lockers.warm();
    const fresh: Locker[] = [];
    let roles = 0;
    const locker = (options: LockerOptions = {}) => {
      const role = Object.keys(options).length === 0
        ? lockers.role(roles++)
        : undefined;
      if (role) return role;
      const made = new Locker({ url: domain.url, ...options });
      fresh.push(made);
      return made;
    };
    let passed = false;
    try {
      await body({ ...domain, mode: "warm", locker });
      passed = true;
    } finally {
      await Promise.allSettled(fresh.map((l) => l.close()));
      // Turns a test left held or waiting would leak into the next test.
      if (!passed || (await domain.leftovers()).length > 0) {
        await lockers.retire();
      }
    }
  }

  /**
   * Closes the Lockers, checks nothing is left (no key, file or
   * subscription), stops the domain.
   */
  async close(): Promise<void> {
    if (!this.#started) return;
    const { domain, stop } = await this.#started;
    try {
      await this.#lockers?.close();
      assert.deepEqual(await domain.leftovers(), []);
      // Redis drops a closed connection's subscriptions as it closes it.
      await waitFor(
        async () => (await domain.listening()).length === 0,
        "no subscription left",
      );
    } finally {
      await stop();
    }
  }
}

async function startRedisDomain() {
  const server = await startRedis();
  const redis = new Redis(server.port, "127.0.0.1");
  // A run cut short by --filter never reaches the closing test.
  const kill = () => server.process.kill("SIGKILL");
  globalThis.addEventListener("unload", kill);
  return {
    domain: redisDomain(server, redis),
    async stop() {
      globalThis.removeEventListener("unload", kill);
      redis.disconnect();
      await server.stop();
    },
  };
}

async function startFileDomain() {
  const root = await Deno.makeTempDir({ prefix: "turn-warm-" });
  const remove = () => Deno.removeSync(root, { recursive: true });
  globalThis.addEventListener("unload", remove);
  return {
    domain: fileDomain(root),
    async stop() {
      globalThis.removeEventListener("unload", remove);
      try {
        await assertNothingUnder(root);
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  };
}

/** The warm worlds of the file being loaded; a new set for each file. */
let loadingWorlds: Map<Backend, WarmWorld> | undefined;

function warmWorld(backend: Backend): WarmWorld {
  if (!loadingWorlds) {
    const worlds = loadingWorlds = new Map();
    // Runs once the file has registered its tests, so this one comes last.
    queueMicrotask(() => {
      loadingWorlds = undefined;
      for (const world of worlds.values()) {
        Deno.test({
          name: `warm Lockers close and leave nothing [${world.backend} warm]`,
          // Opened by earlier tests; closing them is this test's work.
          sanitizeOps: false,
          sanitizeResources: false,
          fn: guarded(() => world.close()),
        });
      }
    });
  }
  let world = loadingWorlds.get(backend);
  if (!world) loadingWorlds.set(backend, world = new WarmWorld(backend));
  return world;
}

/**
 * Registers one Locker behaviour test per backend and mode: `name [redis]`
 * and `name [file]` with fresh Lockers, `name [redis warm]` and
 * `name [file warm]` with the file's long-lived ones.
 */
export function lockerTest(
  name: string,
  body: (context: LockerTestContext) => Promise<void>,
): void {
  for (const backend of BACKENDS) {
    Deno.test({
      name: `${name} [${backend}]`,
      fn: guarded(() =>
        backend === "redis"
          ? withRedis((t) =>
            body({
              ...redisDomain(t.server, t.redis),
              mode: "fresh",
              locker: t.locker,
            })
          )
          : withFiles(body)
      ),
    });
  }
  for (const backend of BACKENDS) {
    const world = warmWorld(backend);
    Deno.test({
      name: `${name} [${backend} warm]`,
      // A warm world's Lockers and connections outlive each test on purpose.
      sanitizeOps: false,
      sanitizeResources: false,
      fn: guarded(() => world.run(body)),
    });
  }
}

/**
 * Rejections nobody handled since a guarded test began. Deno would end the
 * whole file at the first one; the test running when it happened (or, for a
 * late one, the next guarded test) fails instead, and the file's other tests
 * still run.
 */
const strays: unknown[] = [];
let guardedRan = false;
globalThis.addEventListener("unhandledrejection", (event) => {
  // Before any of these tests ran, Deno reports it as it always does.
  if (!guardedRan) return;
  // Between tests it is a late one of the last test: the next one reports it.
  event.preventDefault();
  strays.push(event.reason);
  console.error("unhandled rejection:", event.reason);
});

/**
 * The longest any one test may take: a test that would hang under a bug
 * fails instead (each wait inside has its own, tighter bound too).
 */
export const TEST_BOUND_MS = 180_000;

/**
 * `fn`, failing when it takes longer than {@linkcode TEST_BOUND_MS}, and
 * when a promise was rejected unhandled meanwhile.
 */
export function guarded(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    guardedRan = true;
    try {
      await within(fn(), TEST_BOUND_MS, "the whole test");
    } finally {
      // Give a rejection of the body's last step the tick it takes to show.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (strays.length > 0) {
      throw new AggregateError(
        strays.splice(0),
        "unhandled rejection during the test",
      );
    }
  };
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

/**
 * Resets `resources` until `leftovers` finds nothing: what a user that lost
 * its turn leaves behind (it claims nothing) expires within its `expire`.
 */
export function untilCleared(
  locker: Locker,
  resources: string[],
  leftovers: () => Promise<string[]>,
): Promise<void> {
  return waitFor(async () => {
    await locker.reset(resources);
    return (await leftovers()).length === 0;
  }, `nothing left of ${resources.join(", ")}`);
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

/**
 * Waits until `subscribers` connections listen for `resource`'s turns (turn
 * 1.0 clients on its internal channel, Lockers on their wake channels; a
 * Locker that also listens on internal counts twice), then for the round
 * trip a waiter makes right after subscribing: the test must move the turn
 * on only once the waiter has seen where the queue stands.
 */
export async function untilListening(
  url: string,
  resource: string,
  subscribers: number,
): Promise<void> {
  if (url.startsWith("file:")) return;
  const redis = new Redis(url);
  try {
    const keys = resourceKeys(resource);
    const wakes = keys.wakePrefix.replace(/[*?[\]\\]/g, "\\$&") + "*";
    await waitFor(async () => {
      const [, internal] = await redis.pubsub("NUMSUB", keys.internal) as [
        string,
        number,
      ];
      const lockers = await redis.pubsub("CHANNELS", wakes) as string[];
      return Number(internal) + lockers.length >= subscribers;
    }, `${subscribers} listening for the turns of ${resource}`);
  } finally {
    redis.disconnect();
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}

/**
 * Cuts every pub/sub connection and keeps them from coming back (Redis
 * refuses new connections), so whatever is published meanwhile is lost for
 * them. Returns a function that lets them back.
 */
export async function deafen(redis: Redis): Promise<() => Promise<void>> {
  const [, before] = await redis.config("GET", "maxclients") as string[];
  const info = await redis.info("clients");
  const connected = Number(/connected_clients:(\d+)/.exec(info)![1]);
  const pubsub = String(await redis.call("CLIENT", "LIST", "TYPE", "pubsub"))
    .split("\n").filter((line) => line.trim() !== "").length;
  assert.ok(pubsub > 0, "no pub/sub connection to cut");
  await redis.config("SET", "maxclients", String(connected - pubsub));
  await redis.call("CLIENT", "KILL", "TYPE", "pubsub");
  assert.equal(
    String(await redis.call("CLIENT", "LIST", "TYPE", "pubsub")).trim(),
    "",
    "a pub/sub connection is still there",
  );
  return async () => void await redis.config("SET", "maxclients", before);
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

/**
 * All keys in the database but the fence keys (one per resource ever
 * granted, kept on purpose), sorted.
 */
export async function allKeys(redis: Redis): Promise<string[]> {
  return withoutFences(await redis.keys("*")).sort();
}

/** Path of a test fixture. */
export function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

/**
 * Runs `examples/<path>` with one command, as its README says, against the
 * Redis at `url`, given in `REDIS_URL` (the last place a Locker looks);
 * resolves to its exit code and standard output.
 */
async function runExample(
  path: string,
  url: string,
): Promise<{ code: number; output: string }> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL(`../../examples/${path}`, import.meta.url).pathname,
    ],
    env: { TURN_URL: "", TURN_REDIS_URL: "", REDIS_URL: url },
    stderr: "inherit",
  }).output();
  return { code, output: new TextDecoder().decode(stdout) };
}

/** A key of someone else's that an example must leave alone. */
const BYSTANDER = "someone-else:balance:alice";

/**
 * Runs `examples/<path>` twice in a row against one redis-server holding a
 * bystander's key, and checks each run's output with `check`. The example
 * must find the server the way a Locker does, leave no key of its own behind
 * and leave the bystander's key alone.
 */
export async function runExampleTwice(
  path: string,
  check: (output: string) => void,
): Promise<void> {
  await using server = await startRedis();
  const redis = new Redis(server.url);
  try {
    await redis.set(BYSTANDER, "100");
    for (let run = 1; run <= 2; run++) {
      const { code, output } = await runExample(path, server.url);
      assert.equal(code, 0, output);
      assert.doesNotMatch(output, /throwaway/, "REDIS_URL was not used");
      check(output);
    }
    assert.deepEqual(await allKeys(redis), [BYSTANDER]);
    assert.equal(await redis.get(BYSTANDER), "100");
  } finally {
    redis.disconnect();
  }
}

/** A `fixtures/holder.ts` process: waits for a turn, says so, holds it. */
export interface HolderProcess extends AsyncDisposable {
  /** Resolves with the number drawn once the turn is held. */
  readonly held: Promise<number>;
  /** Resolves once it released a lost lease. */
  readonly released: Promise<void>;
  /** Sends `signal` (SIGSTOP, SIGCONT) to the process. */
  signal(signal: Deno.Signal): void;
  /** Kills the process with SIGKILL and waits until it is gone. */
  kill(): Promise<void>;
}

/**
 * Starts a process that takes the turn on `resource` and holds it until
 * killed (a lost lease it releases at once).
 */
export function spawnHolder(
  url: string,
  resource: string,
  expire: number,
  label?: string,
  options?: LockOptions,
): HolderProcess {
  const args = [fixture("holder.ts"), url, resource, String(expire)];
  args.push(label ?? "doomed holder", JSON.stringify(options ?? {}));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const said = async (pattern: RegExp) => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) {
        throw new Error(`holder ended after ${JSON.stringify(buffered)}`);
      }
      buffered += value;
    }
    const line = buffered.slice(0, buffered.indexOf("\n"));
    buffered = buffered.slice(line.length + 1);
    const match = pattern.exec(line);
    if (!match) throw new Error(`holder said ${JSON.stringify(line)}`);
    return match;
  };
  const held = said(/held (\d+)/).then((match) => Number(match[1]));
  const released = held.then(() => said(/released/)).then(() => {});
  held.catch(() => {});
  released.catch(() => {});
  let killed: Promise<void> | undefined;
  const kill = () =>
    killed ??= (async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await lines.cancel().catch(() => {});
    })();
  return {
    held,
    released,
    signal: (signal) => child.kill(signal),
    kill,
    [Symbol.asyncDispose]: kill,
  };
}
