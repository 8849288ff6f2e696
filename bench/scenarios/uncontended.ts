/**
 * Scenario 1: one process locks and releases one resource in a loop, with
 * nobody else around.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { now } from "../clock.ts";
import { cpuPerOp } from "../cpu.ts";
import type { Peer } from "../peers.ts";
import { quantile } from "../stats.ts";

/** One round of one peer. */
export interface Uncontended extends Record<string, number> {
  readonly cyclesPerSec: number;
  /** Lock + release latency, median, ms. */
  readonly p50Ms: number;
  /** Lock + release latency, 99th percentile, ms. */
  readonly p99Ms: number;
  /** CPU of the client process per cycle, µs. */
  readonly clientCpuUs: number;
  /** CPU of the Redis server per cycle, µs. */
  readonly serverCpuUs: number;
}

/** Runs `cycles` lock + release cycles after a short warm-up. */
export async function uncontended(
  peer: Peer,
  redis: Redis,
  cycles: number,
): Promise<Uncontended> {
  const resource = "bench:uncontended";
  for (let i = 0; i < cycles / 10; i++) {
    await (await peer.acquire(resource)).release();
  }
  const latencies: number[] = [];
  const start = now();
  const cpu = await cpuPerOp(redis, cycles, async () => {
    for (let i = 0; i < cycles; i++) {
      const asked = now();
      await (await peer.acquire(resource)).release();
      latencies.push(now() - asked);
    }
  });
  return {
    cyclesPerSec: cycles / ((now() - start) / 1000),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    ...cpu,
  };
}
