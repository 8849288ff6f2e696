/**
 * What the test and its worker processes (`worker.ts`) say to each other.
 *
 * @module
 */

/** The data of a test job. */
export interface JobData {
  /** What the job's `resource(job)` returns. */
  readonly resource?: string | string[] | null;
  /** Make `resource(job)` throw, or return a number. */
  readonly bad?: "throw" | "number";
  /** Milliseconds of simulated work. */
  readonly work?: number;
  /** Hold the turn until the test pushes to the list `gate:<job id>`. */
  readonly gate?: boolean;
  /** Block the worker's event loop this many ms, then return, whatever the signal says. */
  readonly block?: number;
}

/** One run of a job's processor, as the `runs` list in Redis records it. */
export interface Run {
  readonly id: string;
  /** The worker process that ran it. */
  readonly name: string;
  /** The highest witness counter seen on entry: 1 unless exclusion failed. */
  readonly level: number;
  /** The fencing tokens the processor was given, one per resource, as text. */
  readonly fences: readonly string[];
  /** When the processor entered and left (ms since the epoch). */
  readonly start: number;
  readonly end: number;
}

/** A line a worker process prints. */
export type WorkerEvent =
  | { readonly event: "ready"; readonly bullmq: string }
  | {
    readonly event: "queued";
    readonly id: string;
    readonly resource: string;
    readonly ahead: number;
  }
  | { readonly event: "entered" | "completed" | "stalled"; readonly id: string }
  | { readonly event: "failed"; readonly id: string; readonly reason: string }
  | {
    readonly event: "cancelled";
    readonly id: string;
    readonly found: boolean;
  }
  | { readonly event: "closed"; readonly ms: number };
