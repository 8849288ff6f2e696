/**
 * How much each scenario does, in a full run and in a quick one (CI's
 * smoke run, under 45 s).
 *
 * @module
 */

/** Sizes of one run. */
export interface BenchConfig {
  readonly mode: "full" | "quick";
  /** The run gives up after this long, so that a hang cannot stall CI. */
  readonly deadlineS: number;
  /** Rounds of every repeated measurement; figures are their medians. */
  readonly rounds: number;
  /** Trivial EVALSHA round trips per `limit` round. */
  readonly limitOps: number;
  /** Messages per round of the cross-process handoff floor. */
  readonly floorMessages: number;
  /** Scenario 1: lock + release cycles per round and peer. */
  readonly uncontendedCycles: number;
  /** Scenario 2: cycles per process (the issue asks for 100). */
  readonly workCycles: number;
  /** Scenario 3: cycles per process. */
  readonly emptyCycles: number;
  /** Scenario 4: numbers of waiters. */
  readonly waiters: readonly number[];
  /** Scenario 5: distinct resources. */
  readonly resources: number;
}

/** The full run, for BENCHMARKS.md. */
export const FULL: BenchConfig = {
  mode: "full",
  deadlineS: 900,
  rounds: 5,
  limitOps: 5_000,
  floorMessages: 300,
  uncontendedCycles: 2_000,
  workCycles: 100,
  emptyCycles: 200,
  waiters: [10, 100, 1_000],
  resources: 10_000,
};

/** The quick run: same scenarios and peers, one round, fewer cycles. */
export const QUICK: BenchConfig = {
  mode: "quick",
  deadlineS: 180,
  rounds: 1,
  limitOps: 1_000,
  floorMessages: 100,
  uncontendedCycles: 300,
  workCycles: 25,
  emptyCycles: 25,
  waiters: [10, 100, 1_000],
  resources: 1_000,
};
