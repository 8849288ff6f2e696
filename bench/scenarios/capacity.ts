/**
 * Scenario 7: a resource with N places (capacity N), taken by more processes
 * than places, against redis-semaphore's `Semaphore` with the same N. The
 * timestamps of every cycle, on one clock in every process, give how well
 * the N places are used, how long a freed place stays empty while someone
 * waits (the gap), the worst wait, and whether places go in the order they
 * were asked for.
 *
 * @module
 */

import type { Cycle, CyclesResult } from "../jobs.ts";
import type { PeerName } from "../peers.ts";
import type { Pool } from "../pool.ts";
import { quantile } from "../stats.ts";

/** The shape of a round on a resource with N places. */
export interface PlacesShape {
  readonly capacity: number;
  readonly processes: number;
  readonly cycles: number;
  readonly holdMs: number;
  readonly workMs: number;
}

/** The peers of scenario 7: turn's capacity N and redis-semaphore's Semaphore. */
export const PLACES_PEERS: readonly PeerName[] = ["turn", "redis-semaphore"];

/** Opens `peer` with N places in the first workers and runs one round. */
export async function places(
  pool: Pool,
  peer: PeerName,
  url: string,
  shape: PlacesShape,
  fifoToleranceMs: number,
): Promise<PlacesFigures> {
  const { capacity, processes, cycles, holdMs, workMs } = shape;
  await pool.runAll(
    { kind: "open", peer, url, expire: 10_000, capacity },
    processes,
  );
  const resource = `bench:places:${crypto.randomUUID()}`;
  const results = await pool.runAll<CyclesResult>(
    { kind: "cycles", resource, cycles, holdMs, workMs },
    processes,
  );
  return analysePlaces(
    results.map((r) => r.cycles),
    capacity,
    fifoToleranceMs,
  );
}

/** Figures of one round on a resource with N places. */
export interface PlacesFigures extends Record<string, number> {
  /** Fraction of the N places' time that was held. */
  readonly utilisation: number;
  /** A place freed while someone waited, until its next grant: median and p99, ms. */
  readonly gapP50Ms: number;
  readonly gapP99Ms: number;
  /** Ask to grant: median and worst, ms. */
  readonly waitP50Ms: number;
  readonly waitMaxMs: number;
  /** Grants that went to a later asker while an earlier one still waited. */
  readonly fifoViolations: number;
  /** The most holders at once (must not pass N). */
  readonly maxHolders: number;
  /** Acquisitions the peer gave up on. */
  readonly failures: number;
}

interface Held {
  readonly process: number;
  readonly ask: number;
  readonly grant: number;
  readonly release: number;
}

interface Asked {
  readonly process: number;
  readonly ask: number;
  readonly end: number;
}

/**
 * Figures from each process's cycles on a resource with `capacity` places.
 * A request counts as earlier for FIFO only if made at least `toleranceMs`
 * before the other.
 */
export function analysePlaces(
  perProcess: readonly (readonly Cycle[])[],
  capacity: number,
  toleranceMs: number,
): PlacesFigures {
  const held: Held[] = [];
  const asked: Asked[] = [];
  perProcess.forEach((cycles, process) => {
    for (const c of cycles) {
      if ("failed" in c) asked.push({ process, ask: c.ask, end: c.failed });
      else {
        held.push({ process, ...c });
        asked.push({ process, ask: c.ask, end: c.grant });
      }
    }
  });
  held.sort((a, b) => a.grant - b.grant);
  const from = held[0].grant;
  const to = Math.max(...held.map((h) => h.release));
  const busy = held.reduce((sum, h) => sum + (h.release - h.grant), 0);
  const waits = held.map((h) => h.grant - h.ask);
  return {
    utilisation: busy / (capacity * (to - from)),
    ...gaps(held, asked, capacity),
    waitP50Ms: quantile(waits, 0.5),
    waitMaxMs: Math.max(...waits),
    fifoViolations:
      held.filter((h) =>
        asked.some((a) =>
          a.process !== h.process && a.ask + toleranceMs < h.ask &&
          a.end > h.grant
        )
      ).length,
    maxHolders: maxOverlap(held),
    failures: asked.length - held.length,
  };
}

/**
 * Each release that left a place free while someone waited, until the next
 * grant: how long a freed place stayed empty.
 */
function gaps(
  held: readonly Held[],
  asked: readonly Asked[],
  capacity: number,
): { gapP50Ms: number; gapP99Ms: number } {
  const found: number[] = [];
  for (const h of held) {
    const r = h.release;
    const holders = held.filter((o) => o.grant <= r && o.release > r).length;
    if (holders >= capacity) continue;
    const waiting = asked.some((a) => a.ask < r && a.end > r);
    const next = held.find((o) => o.grant >= r);
    if (waiting && next) found.push(next.grant - r);
  }
  return { gapP50Ms: quantile(found, 0.5), gapP99Ms: quantile(found, 0.99) };
}

function maxOverlap(held: readonly Held[]): number {
  const edges = held.flatMap((h) => [
    { t: h.grant, step: 1 },
    { t: h.release, step: -1 },
  ]).sort((a, b) => a.t - b.t || a.step - b.step);
  let count = 0;
  let most = 0;
  for (const edge of edges) most = Math.max(most, count += edge.step);
  return most;
}
