/**
 * The fault schedule of a run, drawn from the seed: when each fault comes,
 * what kind it is, which user it hits (by role, then by a drawn index among
 * the users in that role at that moment), and how long it lasts.
 *
 * @module
 */

import type { FaultKind } from "./history.ts";
import type { Random } from "./random.ts";

/**
 * One scheduled fault.
 *
 * @example
 * ```ts
 * import type { FaultPlan } from "./faults.ts";
 * const fault: FaultPlan = {
 *   at: 1200,
 *   kind: "sigstop",
 *   role: "holder",
 *   pick: 0.4,
 *   ms: 900,
 *   resource: 1,
 * };
 * ```
 */
export interface FaultPlan {
  /** Milliseconds after the run starts. */
  readonly at: number;
  /** `turn1-crash` and `turn1-complete` both join as a turn 1.0 user. */
  readonly kind: FaultKind;
  /** Hit a user that holds, or one that waits (when there is one). */
  readonly role: "holder" | "waiter";
  /** Which of the candidates, as a fraction of their number. */
  readonly pick: number;
  /** How long: a stop, a pause, Redis down, a restart's delay, a hold. */
  readonly ms: number;
  /** For a turn 1.0 user: the index of its resource. */
  readonly resource: number;
}

const REDIS_FAULTS = {
  sigkill: 3,
  sigstop: 4,
  "redis-kill": 1,
  "client-kill-pubsub": 2,
  // Often, since only a kill between a script's run and its reply shows
  // whether a resent script is safe.
  "client-kill-command": 4,
  "client-pause": 1,
  "turn1-crash": 2,
  "turn1-complete": 1,
} as const;
const PROCESS_FAULTS = { sigkill: 1, sigstop: 1 } as const;

function durationOf(random: Random, kind: FaultKind): number {
  switch (kind) {
    case "sigstop":
      return random.int(200, 4000);
    case "client-pause":
      return random.int(100, 1500);
    case "redis-kill": // sometimes past ioredis's ~4.5 s of retries
      return random.chance(0.3)
        ? random.int(4000, 7000)
        : random.int(100, 2000);
    case "turn1-crash":
    case "turn1-complete":
      return random.int(20, 500);
    default: // a killed worker's restart delay
      return random.int(100, 1500);
  }
}

/**
 * The faults of a run of `seconds` on `backend`, in time order. The file
 * backend has no server to fault: it gets process faults only.
 *
 * @example
 * ```ts
 * import { drawFaults } from "./faults.ts";
 * import { Random } from "./random.ts";
 * const faults = drawFaults(new Random(7), 20, "redis", 3);
 * ```
 */
export function drawFaults(
  random: Random,
  seconds: number,
  backend: "redis" | "file",
  resources: number,
): FaultPlan[] {
  const faults: FaultPlan[] = [];
  const weights = backend === "redis" ? REDIS_FAULTS : PROCESS_FAULTS;
  // No faults in the first second: let the workers start.
  for (let at = 1000 + random.int(0, 1000); at < seconds * 1000;) {
    const kind = random.weighted<FaultKind>(
      weights as Readonly<Record<FaultKind, number>>,
    );
    faults.push({
      at,
      kind,
      role: random.chance(0.5) ? "holder" : "waiter",
      pick: random.next(),
      ms: durationOf(random, kind),
      resource: random.int(0, resources - 1),
    });
    at += random.int(300, 1500);
  }
  return faults;
}
