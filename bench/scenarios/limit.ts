/**
 * The yardstick: one client's sequential round trips of a trivial EVALSHA
 * through ioredis, the client every Redis peer here uses.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { type LoopFigures, timeLoop } from "../loop.ts";

/** Measures `ops` sequential round trips of `return 1`. */
export async function measureLimit(
  redis: Redis,
  ops: number,
): Promise<LoopFigures> {
  const sha = await redis.script("LOAD", "return 1") as string;
  return await timeLoop(redis, ops, () => redis.evalsha(sha, 0));
}
