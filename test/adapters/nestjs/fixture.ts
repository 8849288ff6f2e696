/**
 * Shared parts of the NestJS fixture apps: each runs as its own process
 * (under test/adapters/nestjs/v11 or v12's import map), talks to the test's
 * redis-server and prints one `RESULT <json>` line for the test to read.
 *
 * @module
 */

import "reflect-metadata";
import { Redis } from "ioredis";

/** The test's Redis URL: the fixtures never fall back to a default server. */
export function redisUrl(): string {
  const url = Deno.env.get("FIXTURE_REDIS_URL");
  if (!url) throw new Error("FIXTURE_REDIS_URL must be set by the test");
  return url;
}

/** A plain client for the witness and for signalling with the test. */
export function client(): Redis {
  return new Redis(redisUrl(), { lazyConnect: false });
}

/**
 * Mutual-exclusion witness: a counter INCR'd on entry and DECR'd on leaving;
 * every level seen on entry is pushed to `<name>:levels` for the test.
 */
export async function witnessed<T>(
  redis: Redis,
  name: string,
  body: () => Promise<T>,
): Promise<T> {
  const level = await redis.incr(`${name}:now`);
  await redis.rpush(`${name}:levels`, level);
  try {
    return await body();
  } finally {
    await redis.decr(`${name}:now`);
  }
}

/** Blocks (on its own connection) until the test pushes to `list`. */
export async function awaitSignal(redis: Redis, list: string): Promise<void> {
  const blocking = redis.duplicate();
  try {
    const popped = await blocking.blpop(list, 60);
    if (popped === null) throw new Error(`no signal on ${list} within 60 s`);
  } finally {
    blocking.disconnect();
  }
}

/** Tells the test something: one line on stdout. */
export function say(tag: "READY" | "RESULT", value: unknown = null): void {
  console.log(`${tag} ${JSON.stringify(value)}`);
}

/** Only errors reach stderr; stdout is kept for READY/RESULT lines. */
export const LOGGER = ["error"] as const;
