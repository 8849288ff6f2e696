/**
 * The errors the BullMQ middleware throws.
 *
 * @module
 */

import { TurnError } from "../../mod.ts";

/**
 * A job was cancelled (`worker.cancelJob`) while it waited for its turn. It
 * had left the resource's queue by the time this is thrown; BullMQ fails the
 * job with it (and retries it if the job has attempts left).
 *
 * @example
 * ```ts
 * import { TurnCancelledError } from "./errors.ts";
 * const error = new TurnCancelledError("invoices#7", "user request");
 * console.log(error.message); // invoices#7 was cancelled while waiting for its turn: user request
 * ```
 */
export class TurnCancelledError extends TurnError {
  /** The job's label. */
  readonly label: string;
  /**
   * Creates the error for the job labelled `label`.
   *
   * @param label The job's label.
   * @param reason The cancellation reason (`signal.reason`).
   */
  constructor(label: string, reason: unknown) {
    super(
      `${label} was cancelled while waiting for its turn: ${
        reason instanceof Error ? reason.message : String(reason)
      }`,
      { cause: reason },
    );
    this.label = label;
  }
}

// BullMQ recognises these errors by name and message, so this module needs no
// copy of BullMQ's own classes. A DelayedError means the job was moved to the
// delayed set: not a failure. The rate-limit error makes BullMQ itself move the
// job back to the front of the wait list, not as a failure, and (unlike a
// WaitingError in BullMQ 5) without fetching another job while it closes.
/** Tells BullMQ the job was moved to the delayed set. */
export class DelayedError extends Error {
  override name = "DelayedError";
}
/** Tells BullMQ to move the job back to the front of the wait list. */
export class RateLimitError extends Error {
  override name = "RateLimitError";
  constructor() {
    super("bullmq:rateLimitExceeded");
  }
}
