/**
 * Scenario 6: the holder is killed with SIGKILL while others wait. Measures
 * how long the resource stays blocked by the dead holder.
 *
 * @module
 */

import { now, sleep } from "../clock.ts";
import type { CyclesJob, CyclesResult } from "../jobs.ts";
import type { PeerName } from "../peers.ts";
import type { Pool } from "../pool.ts";

/** The lease of every peer in this scenario: turn's `expire`. */
export const CRASH_EXPIRE_MS = 2_000;

/** Figures of one round. */
export interface Crash extends Record<string, number> {
  /** From the kill to the first waiter's grant, ms (NaN if none got it). */
  readonly recoveryMs: number;
  /** Waiters that gave up. */
  readonly failures: number;
}

/**
 * Starts a holder process, lets the pool's first `waiters` workers wait,
 * then kills the holder. The kill comes about 100 ms after the grant, before
 * any peer renews its lease, so each peer's figure is about its full lease.
 */
export async function crash(
  pool: Pool,
  peer: PeerName,
  url: string,
  waiters: number,
): Promise<Crash> {
  const resource = `bench:crash:${crypto.randomUUID()}`;
  const open = { kind: "open", peer, url, expire: CRASH_EXPIRE_MS } as const;
  await using holder = pool.spawn();
  await holder.ready();
  await holder.run(open);
  await pool.runAll(open, waiters);
  await holder.send({ kind: "hold", resource })("held");
  const once = { kind: "cycles", resource, cycles: 1, holdMs: 0, workMs: 0 };
  const jobs = pool.workers.slice(0, waiters).map((w) =>
    w.send(once as CyclesJob)
  );
  await Promise.all(jobs.map((stage) => stage("asked")));
  await sleep(100);
  const killedAt = now();
  await holder.kill();
  const results = await Promise.all(
    jobs.map((stage) => stage("done") as Promise<CyclesResult>),
  );
  const outcomes = results.flatMap((r) => r.cycles);
  const grants = outcomes.flatMap((c) => "grant" in c ? [c.grant] : []);
  return {
    recoveryMs: grants.length ? Math.min(...grants) - killedAt : NaN,
    failures: outcomes.length - grants.length,
  };
}
