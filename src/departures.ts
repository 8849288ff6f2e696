/**
 * How a user's wait ends and how an engine's users leave, the same for
 * every engine: a failed wait leaves the queue before its error is thrown,
 * and closing waits for every departure under way.
 *
 * @module
 */

import type { WaitLimits } from "./engine.ts";
import { TimeoutError, TurnError } from "./errors.ts";
import type { Lock } from "./lock.ts";
import type { Ticket } from "./ticket.ts";
import { TIMED_OUT, waitOrGiveUp } from "./wait.ts";

/** Work under way to leave queues, which closing must wait for. */
export class Departures {
  readonly #pending = new Set<Promise<unknown>>();

  /** Tracks `work` until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#pending.add(work);
    return work.finally(() => this.#pending.delete(work));
  }

  /** Settles once all work tracked so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}

/**
 * Waits until `ticket` is granted. If its entry fails, the wait times out,
 * or the signal aborts, it first leaves through `leave` (which resolves to
 * the live users ahead), then throws a TimeoutError or the reason. Engines
 * track the whole wait with their {@linkcode Departures}, so closing waits
 * for the leave too.
 */
export async function awaitTurn(
  ticket: Ticket,
  entered: Promise<void>,
  limits: WaitLimits,
  leave: () => Promise<number>,
): Promise<void> {
  entered.catch((error) => ticket.fail(error));
  try {
    await waitOrGiveUp(ticket.granted, limits);
  } catch (reason) {
    const ahead = await leave();
    if (reason === TIMED_OUT) {
      throw new TimeoutError(ticket.keys.resource, ahead, limits.timeout!);
    }
    throw reason;
  }
}

/**
 * Closing: held turns are released (`completed`), waits fail and leave;
 * settles once every departure tracked, waits included, is done.
 */
export async function departAll(
  tickets: Iterable<Ticket>,
  release: (ticket: Ticket) => Promise<void>,
  departures: Departures,
): Promise<void> {
  const closing = new TurnError("the Locker was closed while waiting");
  for (const ticket of tickets) {
    if (ticket.state === "held") release(ticket).catch(() => {});
    else ticket.fail(closing);
  }
  await departures.settled();
}

/**
 * A try that drew while closing began gives its turn back at once, since
 * closing no longer sees it, and is refused.
 */
export async function unlessClosed(
  lock: Lock | null,
  closed: boolean,
): Promise<Lock | null> {
  if (!lock || !closed) return lock;
  await lock.release();
  throw new TurnError("the Locker was closed while trying");
}
