/**
 * Times an operation run back to back in this process: rate, latency and
 * CPU on both sides of the connection.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { now } from "./clock.ts";
import { cpuPerOp } from "./cpu.ts";
import { quantile } from "./stats.ts";

/** Figures of an operation run back to back. */
export interface LoopFigures extends Record<string, number> {
  readonly perSec: number;
  /** Latency of one operation, median, ms. */
  readonly p50Ms: number;
  /** Latency of one operation, 99th percentile, ms. */
  readonly p99Ms: number;
  /** CPU of this process per operation, µs. */
  readonly clientCpuUs: number;
  /** CPU of the Redis server per operation, µs. */
  readonly serverCpuUs: number;
}

/** Runs `op` `count` times, after `count / 10` warm-up runs. */
export async function timeLoop(
  redis: Redis,
  count: number,
  op: () => Promise<unknown>,
): Promise<LoopFigures> {
  for (let i = 0; i < count / 10; i++) await op();
  const latencies: number[] = [];
  const start = now();
  const cpu = await cpuPerOp(redis, count, async () => {
    for (let i = 0; i < count; i++) {
      const began = now();
      await op();
      latencies.push(now() - began);
    }
  });
  return {
    perSec: count / ((now() - start) / 1000),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    ...cpu,
  };
}
