/**
 * The figures of one bench run, as written to `bench/results/*.json`.
 *
 * @module
 */

import type { PlacesFigures, PlacesShape } from "./scenarios/capacity.ts";
import type { Floor } from "./scenarios/floor.ts";
import type { LoopFigures } from "./loop.ts";
import type { Contended, ContendedShape } from "./scenarios/contended.ts";
import type { ManyWaiters } from "./scenarios/many_waiters.ts";
import type { ManyResources } from "./scenarios/many_resources.ts";
import type { Crash } from "./scenarios/crash.ts";
import type { BenchConfig } from "./config.ts";

/** The machine a run was made on. */
export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly loadAverage: readonly number[];
  readonly redis: string;
  readonly deno: string;
}

/** One contended scenario: its shape and each peer's figures. */
export interface ContendedRun {
  readonly shape: ContendedShape;
  readonly peers: Record<string, Contended>;
}

/**
 * Everything one run measured; per-peer figures are medians of rounds. A
 * scenario left out of the run (`--scenarios`) has no field.
 */
export interface BenchResults {
  readonly command: string;
  readonly date: string;
  readonly durationS: number;
  readonly machine: Machine;
  readonly config: BenchConfig;
  /** Trivial EVALSHA round trips. */
  readonly limit: LoopFigures;
  readonly floor: Floor;
  /** The floor with both processes idle for scenario 2's hold first. */
  readonly idleFloor?: Floor;
  /** Lock + release cycles, by peer. */
  readonly uncontended?: Record<string, LoopFigures>;
  readonly work?: ContendedRun;
  readonly empty?: ContendedRun;
  readonly waiters?: Record<string, ManyWaiters>;
  readonly resources?: ManyResources & { concurrency: number; count: number };
  readonly crash?: Record<string, Crash>;
  /** Scenario 7: a resource with N places, by peer. */
  readonly places?: PlacesRun;
}

/** Scenario 7's shape and its figures by peer. */
export interface PlacesRun {
  readonly shape: PlacesShape;
  readonly peers: Record<string, PlacesFigures>;
}
