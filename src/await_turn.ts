/**
 * How a user's wait for its turn ends, the same for every backend: granted,
 * or it times out, is aborted or fails, and then it leaves the queue before
 * its error is thrown.
 *
 * @module
 */

import type { WaitLimits } from "./engine.ts";
import { type ConnectionError, TimeoutError } from "./errors.ts";
import type { Lock } from "./lock.ts";
import type { Ticket } from "./ticket.ts";
import { TIMED_OUT, waitOrGiveUp } from "./wait.ts";
import { deferred } from "./deferred.ts";

/** What a backend does for one wait. */
export interface WaitSteps<T extends Ticket> {
  /** Draws a number and watches the queue until the ticket is granted. */
  enter(ticket: T): Promise<void>;
  /** Leaves after a failed wait; resolves to the live users ahead. */
  leaveWaiting(ticket: T, entered: Promise<void>): Promise<number>;
  /** The Lock of a granted ticket. */
  lockOf(ticket: T): Lock;
  /** Why the server could not be reached as a wait gave up, if it could not. */
  unreachable(ticket: T): ConnectionError | undefined;
}

/**
 * Waits for the turn of `ticket`. A wait that times out, is aborted or
 * fails leaves the queue before it throws a TimeoutError or the reason.
 * The Lock is made and handed over in the grant's own tick, so its user
 * resumes one step after the grant.
 */
export function awaitTurn<T extends Ticket>(
  ticket: T,
  limits: WaitLimits,
  steps: WaitSteps<T>,
): Promise<Lock> {
  const turn = deferred<Lock>();
  let granted = false;
  ticket.whenGranted(() => {
    // Aborted before the grant: its give-up is on its way, and leaves.
    if (limits.signal?.aborted) return;
    granted = true;
    try {
      turn.resolve(steps.lockOf(ticket));
    } catch (error) {
      turn.reject(error);
    }
  });
  const entered = steps.enter(ticket);
  entered.catch((error) => ticket.fail(error));
  // With nothing to give up for, the grant itself is waited for.
  const limited = limits.timeout !== undefined || limits.signal !== undefined;
  const waited = limited
    ? waitOrGiveUp(ticket.granted, limits)
    : ticket.granted;
  waited.catch((reason) => {
    // A grant that came before the give-up was heard stands.
    if (granted) return;
    giveUp(ticket, reason, entered, limits, steps).catch(turn.reject);
  });
  return turn.promise;
}

/** Leaves the queue after a failed wait, then throws why it failed. */
async function giveUp<T extends Ticket>(
  ticket: T,
  reason: unknown,
  entered: Promise<void>,
  limits: WaitLimits,
  steps: WaitSteps<T>,
): Promise<never> {
  const ahead = await steps.leaveWaiting(ticket, entered);
  if (reason === TIMED_OUT) {
    const { resource } = ticket;
    const unreachable = steps.unreachable(ticket);
    throw new TimeoutError(resource, ahead, limits.timeout!, unreachable);
  }
  throw reason;
}
