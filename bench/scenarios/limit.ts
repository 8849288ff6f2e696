/**
 * The yardstick: one client's sequential round trips of a trivial EVALSHA
 * through ioredis, the client every Redis peer here uses.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { now } from "../clock.ts";
import { cpuPerOp } from "../cpu.ts";
import { quantile } from "../stats.ts";

/** The physical limit, measured in this run. */
export interface Limit extends Record<string, number> {
  /** Sequential EVALSHA round trips per second. */
  readonly opsPerSec: number;
  /** Round-trip time, median, ms. */
  readonly rttP50Ms: number;
  /** Round-trip time, 99th percentile, ms. */
  readonly rttP99Ms: number;
  /** CPU of the client process per round trip, µs. */
  readonly clientCpuUs: number;
  /** CPU of the Redis server per round trip, µs. */
  readonly serverCpuUs: number;
}

/** Measures `ops` sequential round trips of `return 1`. */
export async function measureLimit(redis: Redis, ops: number): Promise<Limit> {
  const sha = await redis.script("LOAD", "return 1") as string;
  for (let i = 0; i < ops / 10; i++) await redis.evalsha(sha, 0);
  const latencies: number[] = [];
  const start = now();
  const cpu = await cpuPerOp(redis, ops, async () => {
    for (let i = 0; i < ops; i++) {
      const sent = now();
      await redis.evalsha(sha, 0);
      latencies.push(now() - sent);
    }
  });
  return {
    opsPerSec: ops / ((now() - start) / 1000),
    rttP50Ms: quantile(latencies, 0.5),
    rttP99Ms: quantile(latencies, 0.99),
    ...cpu,
  };
}
