/**
 * The Redis an example runs against: the one a Locker would take from the
 * environment (`TURN_URL`, `TURN_REDIS_URL`, `REDIS_URL`), or else a
 * throwaway redis-server on a free port, stopped when the example ends.
 *
 * @module
 */

import { environmentUrl } from "@turn/turn";
import { startRedis } from "../support/redis_server.ts";

/** A Redis URL, and the throwaway server behind it, if any. */
export interface ExampleRedis extends AsyncDisposable {
  readonly url: string;
}

/**
 * Picks the Redis by the Locker's own rule; starts one when none is set.
 *
 * @example
 * ```ts ignore
 * await using redis = await exampleRedis();
 * ```
 */
export async function exampleRedis(): Promise<ExampleRedis> {
  const url = environmentUrl();
  if (url?.startsWith("file:")) {
    throw new TypeError(
      `this example needs Redis, not the file backend: got ${url}`,
    );
  }
  if (url) return { url, [Symbol.asyncDispose]: () => Promise.resolve() };
  const server = await startRedis();
  console.log(`started a throwaway redis-server on ${server.url}`);
  return {
    url: server.url,
    [Symbol.asyncDispose]: () => server.stop(),
  };
}
