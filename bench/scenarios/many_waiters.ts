/**
 * Scenario 4: many waiters over several processes on one resource. Counts
 * the Redis commands each handoff costs (from `INFO commandstats`, which
 * counts both the scripts and the commands they run), the client CPU, and
 * the pub/sub messages the waiters' processes receive (each wakes one).
 *
 * @module
 */

import type { Redis } from "ioredis";
import { Locker } from "../../mod.ts";
import { now, sleep } from "../clock.ts";
import type { WaitersResult } from "../jobs.ts";
import type { Pool } from "../pool.ts";

const QUIET_MS = 50;

/** Figures of one round with a given number of waiters. */
export interface ManyWaiters extends Record<string, number> {
  /** Commands Redis ran per handoff, scripts' own commands included. */
  readonly commandsPerHandoff: number;
  /** Script calls (EVALSHA/EVAL, the round trips that change state) per handoff. */
  readonly scriptsPerHandoff: number;
  /** CPU time of all client processes per handoff, µs. */
  readonly clientCpuUsPerHandoff: number;
  /** Pub/sub messages received by the waiters' processes per handoff. */
  readonly wokenPerHandoff: number;
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

function scriptCalls(counts: Map<string, number>): number {
  return (counts.get("evalsha") ?? 0) + (counts.get("eval") ?? 0);
}

/**
 * Waits until no script has run for a moment, so that waiters still
 * subscribing and making their first check are not counted as handoffs.
 */
async function untilQuiet(redis: Redis): Promise<Map<string, number>> {
  let counts = await commandCounts(redis);
  for (;;) {
    await sleep(QUIET_MS);
    const later = await commandCounts(redis);
    if (scriptCalls(later) === scriptCalls(counts)) return later;
    counts = later;
  }
}

/** Waits until `users` have drawn a number for `resource` (holder included). */
async function untilQueued(
  locker: Locker,
  resource: string,
  users: number,
): Promise<void> {
  while ((await locker.status([resource]))[0]?.users.length !== users) {
    await sleep(QUIET_MS);
  }
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
  await Promise.all(jobs.map((stage) => stage("asked")));
  await untilQueued(holder, resource, waiters + 1);
  const before = await untilQuiet(redis);
  await Promise.all(pool.workers.map((w) => w.run({ kind: "mark" })));
  const start = now();
  await lock.release();
  const results = await Promise.all(
    jobs.map((stage) => stage("done") as Promise<WaitersResult>),
  );
  const seconds = (now() - start) / 1000;
  const after = await commandCounts(redis);
  let commands = 0;
  for (const [name, n] of after) {
    if (name !== "info") commands += n - (before.get(name) ?? 0);
  }
  const total = (field: "cpuUs" | "messages") =>
    results.reduce((sum, r) => sum + r[field], 0);
  return {
    commandsPerHandoff: commands / waiters,
    scriptsPerHandoff: (scriptCalls(after) - scriptCalls(before)) / waiters,
    clientCpuUsPerHandoff: total("cpuUs") / waiters,
    wokenPerHandoff: total("messages") / waiters,
    handoffsPerSec: waiters / seconds,
  };
}
