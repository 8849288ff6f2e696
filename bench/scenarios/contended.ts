/**
 * Scenarios 2 and 3: several processes take turns on one resource. The
 * timestamps of every cycle, taken on one clock in every process, give the
 * figures that matter for a shared resource: how long it sits idle between
 * holders while someone waits (the gap), how busy it is, how long waiters
 * wait, and whether they are served in the order they asked.
 *
 * @module
 */

import type { Cycle, CyclesResult } from "../jobs.ts";
import type { PeerName } from "../peers.ts";
import type { Pool } from "../pool.ts";
import { jain, quantile } from "../stats.ts";

/** The shape of a contended run. */
export interface ContendedShape {
  readonly processes: number;
  readonly cycles: number;
  readonly holdMs: number;
  readonly workMs: number;
}

/** Figures of one contended round. */
export interface Contended extends Record<string, number> {
  /** Fraction of the run during which someone held the lock. */
  readonly utilisation: number;
  /** How long a holder actually held (timers overshoot), median, ms. */
  readonly holdP50Ms: number;
  /** Release to next grant while someone waited, median, ms. */
  readonly gapP50Ms: number;
  readonly gapP99Ms: number;
  /** Ask to grant, median and worst, ms. */
  readonly waitP50Ms: number;
  readonly waitMaxMs: number;
  /** Grants that went to a later asker while an earlier one still waited. */
  readonly fifoViolations: number;
  /** Jain's index of grants per process while all were competing. */
  readonly jain: number;
  /** Grants per second. */
  readonly cyclesPerSec: number;
  /** Grants to a different process than the previous one, per second. */
  readonly handoffsPerSec: number;
  /** Acquisitions the peer gave up on. */
  readonly failures: number;
  /** Grants that began before the previous holder started releasing. */
  readonly overlaps: number;
  /**
   * turn only (NaN for peers): grants out of the order in which Redis
   * handed out numbers, the server-side check of FIFO.
   */
  readonly ticketOrderViolations: number;
}

interface Grant {
  readonly process: number;
  readonly ask: number;
  readonly grant: number;
  readonly release: number;
  readonly ticket?: number;
}

interface Attempt {
  readonly process: number;
  readonly ask: number;
  /** When the wait ended: granted or given up. */
  readonly end: number;
}

/** Opens `peer` in the first workers and runs one contended round. */
export async function contended(
  pool: Pool,
  peer: PeerName,
  url: string,
  shape: ContendedShape,
  fifoToleranceMs: number,
): Promise<Contended> {
  const { processes, cycles, holdMs, workMs } = shape;
  await pool.runAll({ kind: "open", peer, url, expire: 10_000 }, processes);
  const resource = `bench:contended:${crypto.randomUUID()}`;
  const results = await pool.runAll<CyclesResult>(
    { kind: "cycles", resource, cycles, holdMs, workMs },
    processes,
  );
  return analyse(results.map((r) => r.cycles), fifoToleranceMs);
}

/**
 * Figures from each process's cycles. A request counts as earlier for FIFO
 * only if it was made at least `toleranceMs` (one round trip) before the
 * other: no lock can order requests closer than that.
 */
export function analyse(
  perProcess: readonly (readonly Cycle[])[],
  toleranceMs: number,
): Contended {
  const grants: Grant[] = [];
  const attempts: Attempt[] = [];
  let failures = 0;
  perProcess.forEach((cycles, process) => {
    for (const c of cycles) {
      if ("failed" in c) {
        failures++;
        attempts.push({ process, ask: c.ask, end: c.failed });
      } else {
        grants.push({ process, ...c });
        attempts.push({ process, ask: c.ask, end: c.grant });
      }
    }
  });
  grants.sort((a, b) => a.grant - b.grant);
  const span = grants.at(-1)!.release - grants[0].grant;
  const held = grants.reduce((sum, g) => sum + (g.release - g.grant), 0);
  const gaps: number[] = [];
  let overlaps = 0;
  let ownerChanges = 0;
  let fifoViolations = 0;
  for (let i = 1; i < grants.length; i++) {
    const [previous, next] = [grants[i - 1], grants[i]];
    if (next.grant < previous.release) overlaps++;
    if (next.process !== previous.process) ownerChanges++;
    const waited = attempts.some((a) =>
      a.ask < previous.release && a.end > previous.release
    );
    if (waited) gaps.push(next.grant - previous.release);
  }
  for (const g of grants) {
    const passed = attempts.some((a) =>
      a.process !== g.process && a.ask + toleranceMs < g.ask &&
      a.end > g.grant
    );
    if (passed) fifoViolations++;
  }
  const waits = grants.map((g) => g.grant - g.ask);
  return {
    utilisation: held / span,
    holdP50Ms: quantile(grants.map((g) => g.release - g.grant), 0.5),
    gapP50Ms: quantile(gaps, 0.5),
    gapP99Ms: quantile(gaps, 0.99),
    waitP50Ms: quantile(waits, 0.5),
    waitMaxMs: Math.max(...waits),
    fifoViolations,
    jain: jain(competingShares(perProcess)),
    cyclesPerSec: grants.length / (span / 1000),
    handoffsPerSec: ownerChanges / (span / 1000),
    failures,
    overlaps,
    ticketOrderViolations: ticketOrderViolations(grants),
  };
}

/**
 * Grants whose number is lower than the one before. Numbers restart at 1
 * when the queue empties, so a 1 is never a violation.
 */
function ticketOrderViolations(grants: readonly Grant[]): number {
  if (grants.some((g) => g.ticket === undefined)) return NaN;
  let violations = 0;
  for (let i = 1; i < grants.length; i++) {
    const [previous, next] = [grants[i - 1].ticket!, grants[i].ticket!];
    if (next < previous && next !== 1) violations++;
  }
  return violations;
}

/** Grants per process in the window where every process was still asking. */
function competingShares(perProcess: readonly (readonly Cycle[])[]): number[] {
  const from = Math.max(...perProcess.map((cycles) => cycles[0].ask));
  const to = Math.min(...perProcess.map((cycles) => {
    const last = cycles.at(-1)!;
    return "failed" in last ? last.failed : last.release;
  }));
  return perProcess.map((cycles) =>
    cycles.filter((c) => "grant" in c && c.grant >= from && c.grant <= to)
      .length
  );
}
