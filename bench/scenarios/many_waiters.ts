/**
 * Scenario 4: many waiters over several processes on one resource. Counts
 * the Redis commands each handoff costs (from `INFO commandstats`, which
 * counts both the scripts and the commands they run) and the client CPU.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { Locker } from "../../mod.ts";
import { now } from "../clock.ts";
import type { WaitersResult } from "../jobs.ts";
import type { Pool } from "../pool.ts";

/** Figures of one round with a given number of waiters. */
export interface ManyWaiters extends Record<string, number> {
  /** Commands Redis ran per handoff, scripts' own commands included. */
  readonly commandsPerHandoff: number;
  /** Script calls (EVALSHA/EVAL, the round trips that change state) per handoff. */
  readonly scriptsPerHandoff: number;
  /** CPU time of all client processes per handoff, µs. */
  readonly clientCpuUsPerHandoff: number;
  readonly handoffsPerSec: number;
}

/** Counts of calls by command name. */
export async function commandCounts(
  redis: Redis,
): Promise<Map<string, number>> {
  const info = await redis.info("commandstats");
  const counts = new Map<string, number>();
  for (const [, name, calls] of info.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) {
    counts.set(name, Number(calls));
  }
  return counts;
}

/**
 * Holds the resource while `waiters` queue up, spread evenly over the
 * pool's processes, then lets them through one by one.
 */
export async function manyWaiters(
  pool: Pool,
  redis: Redis,
  url: string,
  waiters: number,
): Promise<ManyWaiters> {
  const resource = `bench:waiters:${crypto.randomUUID()}`;
  await using holder = new Locker({ url });
  const lock = await holder.lock(resource);
  const count = waiters / pool.workers.length;
  const jobs = pool.workers.map((w) =>
    w.send({ kind: "waiters", url, resource, count })
  );
  await Promise.all(jobs.map((stage) => stage("queued")));
  const before = await commandCounts(redis);
  const start = now();
  await lock.release();
  const results = await Promise.all(
    jobs.map((stage) => stage("done") as Promise<WaitersResult>),
  );
  const seconds = (now() - start) / 1000;
  const after = await commandCounts(redis);
  const calls = (names?: string[]) => {
    let sum = 0;
    for (const [name, n] of after) {
      if (name === "info") continue;
      if (names && !names.includes(name)) continue;
      sum += n - (before.get(name) ?? 0);
    }
    return sum;
  };
  const cpuUs = results.reduce((sum, r) => sum + r.cpuUs, 0);
  return {
    commandsPerHandoff: calls() / waiters,
    scriptsPerHandoff: calls(["evalsha", "eval"]) / waiters,
    clientCpuUsPerHandoff: cpuUs / waiters,
    handoffsPerSec: waiters / seconds,
  };
}
