/**
 * What a backend must do for the Locker. The Locker validates input and
 * fills in defaults; an engine does the work.
 *
 * @module
 */

import type { Lock } from "./lock.ts";
import type { Follow } from "./follow.ts";
import type { TicketSpec } from "./ticket.ts";
import type { ResetResult, ResourceStatus } from "./types.ts";

/** How a wait may end early. */
export interface WaitLimits {
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

/**
 * A backend behind the Locker (Redis, or the file system). Both are built on
 * TurnEngine (core.ts), which this interface lets the Locker, telemetry and
 * tests wrap without knowing.
 */
export interface Engine {
  /** Waits for the turn on `resource`. */
  acquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
  ): Promise<Lock>;
  /** Takes the turn only if nobody holds or waits; `null` when busy. */
  tryAcquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
  ): Promise<Lock | null>;
  /** Names of every resource with a queue, sorted. */
  resources(): Promise<string[]>;
  /**
   * Rejects, sending nothing, if a name in `resources` cannot name a queue
   * on this backend (as a resource with an empty hash tag cannot).
   */
  checkNames(resources: readonly string[]): Promise<void>;
  /** The queues of `resources` that exist, in the order given. */
  status(resources: readonly string[]): Promise<ResourceStatus[]>;
  /** turn 1.0's reset, per resource; `forget` also drops idle fences. */
  reset(resources: readonly string[], forget: boolean): Promise<ResetResult[]>;
  /** Events of `resources`, or of every resource when `undefined`. */
  follow(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow;
  /** Releases held turns, leaves queues, closes connections. */
  close(): Promise<void>;
}
