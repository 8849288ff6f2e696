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

/** The steps an engine takes a ticket through, for {@linkcode takeTurn}. */
export interface TicketSteps {
  /** Work closing waits for. */
  readonly departures: Departures;
  /** The engine's tickets, which closing releases or fails. */
  readonly tickets: Set<Ticket>;
  /** Whether closing has begun. */
  closed(): boolean;
  /** Takes the turn only if nobody holds or waits; `null` when busy. */
  tryDraw(ticket: Ticket): Promise<Lock | null>;
  /** Draws a number and watches the queue until the ticket is granted. */
  enter(ticket: Ticket): Promise<void>;
  /** Leaves after a failed wait; resolves to the live users ahead. */
  leave(ticket: Ticket, entered: Promise<void>): Promise<number>;
  /** The Lock of a granted ticket. */
  lockOf(ticket: Ticket): Lock;
}

/**
 * Takes the turn for `ticket`, the same for every engine. A wait that times
 * out, is aborted or fails leaves the queue before it throws a TimeoutError or
 * the reason. Every wait and try is tracked, so closing waits for it; a try
 * that drew while closing began gives its turn back and is refused.
 */
export async function takeTurn(
  ticket: Ticket,
  limits: WaitLimits,
  tryOnly: boolean,
  steps: TicketSteps,
): Promise<Lock | null> {
  if (tryOnly) {
    return await steps.departures.track(
      steps.tryDraw(ticket).then((lock) => unlessClosed(lock, steps)),
    );
  }
  steps.tickets.add(ticket);
  return await steps.departures.track(awaitTurn(ticket, limits, steps));
}

async function awaitTurn(
  ticket: Ticket,
  limits: WaitLimits,
  steps: TicketSteps,
): Promise<Lock> {
  const entered = steps.enter(ticket);
  entered.catch((error) => ticket.fail(error));
  try {
    await waitOrGiveUp(ticket.granted, limits);
  } catch (reason) {
    const ahead = await steps.leave(ticket, entered);
    if (reason === TIMED_OUT) {
      throw new TimeoutError(ticket.keys.resource, ahead, limits.timeout!);
    }
    throw reason;
  }
  return steps.lockOf(ticket);
}

async function unlessClosed(
  lock: Lock | null,
  steps: TicketSteps,
): Promise<Lock | null> {
  if (!lock || !steps.closed()) return lock;
  await lock.release();
  throw new TurnError("the Locker was closed while trying");
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
