/**
 * Faults done through Redis itself: dropping one client connection of a
 * kind, and pausing every client.
 *
 * @module
 */

import { Redis } from "ioredis";

/** Runs `fn` on a short-lived admin connection; `undefined` if Redis is down. */
async function withAdmin<T>(
  port: number,
  fn: (redis: Redis) => Promise<T>,
): Promise<T | undefined> {
  const redis = new Redis(port, "127.0.0.1", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return await fn(redis);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/**
 * Kills one client connection of `type` (the pub/sub connections are
 * those CLIENT LIST shows with `flags=P`), chosen by `pick` in [0, 1);
 * returns what it killed (its `addr` and `cmd`), or `undefined`.
 *
 * @example
 * ```ts ignore
 * import { clientKill } from "./redis_faults.ts";
 * await clientKill(6390, "pubsub", 0.5);
 * ```
 */
export function clientKill(
  port: number,
  type: "pubsub" | "normal",
  pick: number,
): Promise<string | undefined> {
  return withAdmin(port, async (redis) => {
    const me = await redis.call("CLIENT", "ID");
    const list = String(await redis.call("CLIENT", "LIST", "TYPE", type));
    const clients = list.split("\n").filter(Boolean).map(fieldsOf)
      .filter((c) => c.id !== String(me));
    if (clients.length === 0) return undefined;
    const victim = clients[Math.floor(pick * clients.length)];
    await redis.call("CLIENT", "KILL", "ID", victim.id);
    return `${victim.addr} cmd=${victim.cmd} flags=${victim.flags}`;
  });
}

/**
 * Pauses every client for `ms` (CLIENT PAUSE ... ALL).
 *
 * @example
 * ```ts ignore
 * import { clientPause } from "./redis_faults.ts";
 * await clientPause(6390, 500);
 * ```
 */
export async function clientPause(port: number, ms: number): Promise<boolean> {
  return await withAdmin(port, async (redis) => {
    await redis.call("CLIENT", "PAUSE", ms, "ALL");
    return true;
  }) ?? false;
}

/**
 * The keys of turn's prefix left in Redis.
 *
 * @example
 * ```ts ignore
 * import { turnKeys } from "./redis_faults.ts";
 * const left = await turnKeys(6390);
 * ```
 */
export async function turnKeys(
  port: number,
  prefix: string,
): Promise<string[]> {
  return await withAdmin(port, (redis) => redis.keys(`${prefix}:*`)) ??
    [`(Redis on port ${port} did not answer)`];
}

function fieldsOf(line: string): Record<string, string> {
  return Object.fromEntries(
    line.split(" ").map((field) => {
      const at = field.indexOf("=");
      return [field.slice(0, at), field.slice(at + 1)];
    }),
  );
}
