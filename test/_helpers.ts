/**
 * Shared test helpers: a server per test, a raw client for inspection, and
 * bounded waits.
 *
 * @module
 */

import { Redis } from "ioredis";
import { type RedisServer, startRedis } from "./redis_server.ts";
import { Locker } from "../mod.ts";
import type { LockerOptions, TurnEvent } from "../mod.ts";

/** Context handed to a test body by {@linkcode redisTest}. */
export interface RedisTestContext {
  readonly server: RedisServer;
  /** A plain client for looking at and poking the database. */
  readonly redis: Redis;
  /** A Locker on the test's server, closed after the test. */
  locker(options?: LockerOptions): Locker;
}

/** Registers a Deno test that gets its own throwaway redis-server. */
export function redisTest(
  name: string,
  body: (context: RedisTestContext) => Promise<void>,
): void {
  Deno.test({
    name,
    // ioredis keeps sockets and timers that outlive a test body by a tick.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await using server = await startRedis();
      const redis = new Redis(server.port, "127.0.0.1");
      const lockers: Locker[] = [];
      try {
        await body({
          server,
          redis,
          locker(options = {}) {
            const locker = new Locker({ url: server.url, ...options });
            lockers.push(locker);
            return locker;
          },
        });
      } finally {
        await Promise.allSettled(lockers.map((l) => l.close()));
        redis.disconnect();
      }
    },
  });
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

/** All keys in the database, sorted. */
export async function allKeys(redis: Redis): Promise<string[]> {
  return (await redis.keys("*")).sort();
}

/** Path of a test fixture. */
export function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}
