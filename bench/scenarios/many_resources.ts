/**
 * Scenario 5: one process locks each of many distinct resources once, many
 * tasks at a time, then checks that no keys are left behind.
 *
 * @module
 */

import type { Redis } from "ioredis";
import type { ResourcesResult } from "../jobs.ts";
import type { Pool } from "../pool.ts";
import { FENCE_PATTERN } from "../../src/redis/keys.ts";

/** Figures of one round. */
export interface ManyResources extends Record<string, number> {
  readonly totalMs: number;
  /** Resident set size of the client process before the first lock, MiB. */
  readonly baseRssMiB: number;
  /** Peak resident set size of the client process, MiB. */
  readonly peakRssMiB: number;
  /** Keys added to the database and not removed, fence keys aside. */
  readonly keysLeft: number;
  /**
   * Fence keys added: one per resource ever granted, kept on purpose so
   * fencing tokens keep growing (docs/GUARANTEES.md).
   */
  readonly fenceKeys: number;
}

async function countFences(redis: Redis): Promise<number> {
  return (await redis.keys(FENCE_PATTERN)).length;
}

/** Runs in a fresh process, so its peak RSS is this scenario's alone. */
export async function manyResources(
  pool: Pool,
  redis: Redis,
  url: string,
  count: number,
  concurrency: number,
): Promise<ManyResources> {
  const before = await redis.dbsize();
  const fencesBefore = await countFences(redis);
  await using worker = pool.spawn();
  await worker.ready();
  const result = await worker.run<ResourcesResult>({
    kind: "resources",
    url,
    count,
    concurrency,
  });
  return {
    totalMs: result.ms,
    baseRssMiB: result.baseRssMiB,
    peakRssMiB: result.peakRssMiB,
    ...await leftBehind(redis, before, fencesBefore),
  };
}

async function leftBehind(
  redis: Redis,
  before: number,
  fencesBefore: number,
): Promise<{ keysLeft: number; fenceKeys: number }> {
  const fenceKeys = await countFences(redis) - fencesBefore;
  return { keysLeft: await redis.dbsize() - before - fenceKeys, fenceKeys };
}
