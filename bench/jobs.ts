/**
 * What the bench asks of its worker processes, and what they answer. One
 * job per stdin line; answers are stdout lines `{ id, stage, data }`, and a
 * job may answer in several stages (e.g. `queued`, then `done`).
 *
 * @module
 */

import type { PeerName } from "./peers.ts";

/** Connect a client of `peer`; answers `done`. */
export interface OpenJob {
  readonly kind: "open";
  readonly peer: PeerName;
  readonly url: string;
  readonly expire: number;
  /** Places per resource (scenario 7); unset: a mutex. */
  readonly capacity?: number;
}

/**
 * Lock, hold, release, work outside, `cycles` times; answers `asked` once
 * the first acquisition is under way, then `done` with a {@linkcode CyclesResult}.
 */
export interface CyclesJob {
  readonly kind: "cycles";
  readonly resource: string;
  readonly cycles: number;
  readonly holdMs: number;
  readonly workMs: number;
}

/**
 * turn only: queue `count` waiters at once (no `onQueue`: a waiter that
 * follows its place hears every hand-over, and the figures are of plain
 * waiters); answers `asked` once every lock call is made, then `done` with a
 * {@linkcode WaitersResult} when each has had its turn (taken and released
 * at once). The bench sees in Redis when every waiter has drawn.
 */
export interface WaitersJob {
  readonly kind: "waiters";
  readonly url: string;
  readonly resource: string;
  readonly count: number;
}

/** Take the lock and never give it back; answers `held` with the grant time. */
export interface HoldJob {
  readonly kind: "hold";
  readonly resource: string;
}

/**
 * turn only: lock each of `count` distinct resources once, `concurrency`
 * tasks at a time; answers `done` with a {@linkcode ResourcesResult}.
 */
export interface ResourcesJob {
  readonly kind: "resources";
  readonly url: string;
  readonly count: number;
  readonly concurrency: number;
}

/**
 * Subscribe to `channel`; answer `ready`. On each of `count` messages, note
 * when it arrived, make one trivial EVALSHA round trip, note when that
 * returned, and PUBLISH `reply`. Then answer `done` with an {@linkcode EchoResult}.
 */
export interface EchoJob {
  readonly kind: "echo";
  readonly url: string;
  readonly channel: string;
  readonly reply: string;
  readonly count: number;
}

/**
 * Note this process's client CPU and pub/sub messages so far, as the start
 * of a {@linkcode WaitersJob}'s figures; answers `done`.
 */
export interface MarkJob {
  readonly kind: "mark";
}

/** Close the client and exit; answers `done`. */
export interface CloseJob {
  readonly kind: "close";
}

/** Any job. */
export type Job =
  | OpenJob
  | CyclesJob
  | WaitersJob
  | HoldJob
  | ResourcesJob
  | EchoJob
  | MarkJob
  | CloseJob;

/**
 * One lock cycle, on the shared clock (ms): when it asked, got the lock,
 * began releasing and finished releasing. A failed acquisition has `failed`
 * (when the peer gave up) instead of the last three.
 */
export type Cycle = Granted | { readonly ask: number; readonly failed: number };

/** A granted cycle; `ticket` is turn's number drawn. */
export interface Granted {
  readonly ask: number;
  readonly grant: number;
  readonly release: number;
  readonly released: number;
  readonly ticket?: number;
}

/** Answer of a {@linkcode CyclesJob}. */
export interface CyclesResult {
  readonly cycles: readonly Cycle[];
}

/**
 * Answer of a {@linkcode WaitersJob}: client CPU, and pub/sub messages
 * received, from the {@linkcode MarkJob} to done.
 */
export interface WaitersResult {
  /** µs */
  readonly cpuUs: number;
  readonly messages: number;
}

/** Answer of a {@linkcode ResourcesJob}. */
export interface ResourcesResult {
  readonly ms: number;
  /** Resident set size once connected, before the first lock, MiB. */
  readonly baseRssMiB: number;
  /** Peak resident set size of the process, in MiB (Linux VmHWM). */
  readonly peakRssMiB: number;
}

/** Answer of an {@linkcode EchoJob}: `[arrived, answered]` per message. */
export interface EchoResult {
  readonly times: readonly (readonly [number, number])[];
}

/** The id of the answer a worker sends once it is ready for jobs. */
export const READY_ID = -1;

/** One stdout line of a worker. */
export interface Answer {
  readonly id: number;
  readonly stage: string;
  readonly data?: unknown;
}
