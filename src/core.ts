/**
 * The turn-taking core both backends share: how a turn is waited for or
 * tried, granted and left, how queues are read and reset, and how an engine
 * closes. A backend extends TurnEngine with its own steps on a queue (draw,
 * look, leave) and its own way of hearing of changes; whatever a user can
 * tell apart happens here, once.
 *
 * @module
 */

import { awaitTurn, type WaitSteps } from "./await_turn.ts";
import type { Engine, WaitLimits } from "./engine.ts";
import { rejecting } from "./wait.ts";
import { type ConnectionError, TurnError } from "./errors.ts";
import type { Follow } from "./follow.ts";
import type { Lock, ReleaseOutcome } from "./lock.ts";
import type { Outcome } from "./messages.ts";
import type { ReleaseResult } from "./steps.ts";
import type { Ticket, TicketSpec } from "./ticket.ts";
import type { ResetResult, ResourceStatus } from "./types.ts";

/** Waits, tries and leaves under way, which closing must wait for. */
export class InFlight {
  readonly #pending = new Set<Promise<unknown>>();

  /**
   * Tracks `work` until it settles. Returns `work` itself, so that its
   * caller hears of it as soon as it settles.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.#pending.add(work);
    const done = () => void this.#pending.delete(work);
    work.then(done, done);
    return work;
  }

  /** Settles once all work tracked so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}

/**
 * An engine taking tickets of type `T` through their turns. Every wait and
 * try is tracked, so closing waits for it; a failed wait leaves the queue
 * before its error is thrown (await_turn.ts).
 */
export abstract class TurnEngine<T extends Ticket> implements Engine {
  /** The tickets from drawing to leaving; closing releases or fails them. */
  protected readonly tickets: Set<T> = new Set();
  /** Work closing waits for. */
  protected readonly inFlight: InFlight = new InFlight();
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #waitSteps: WaitSteps<T> = {
    enter: (ticket) => this.enter(ticket),
    leaveWaiting: (ticket, entered) => this.leaveWaiting(ticket, entered),
    lockOf: (ticket) => this.lockOf(ticket),
    unreachable: (ticket) => this.unreachable(ticket),
  };

  // -------------------------------------------------------------------------
  // What a backend provides

  /** A new ticket on `resource`, carrying the backend's handle on it. */
  protected abstract ticketFor(resource: string, spec: TicketSpec): T;
  /**
   * Readies a wait (by connecting, say); rejects to refuse it. Nothing
   * (`undefined`) when it is ready already.
   */
  protected abstract prepareWait(
    ticket: T,
    limits: WaitLimits,
  ): Promise<void> | undefined;
  /** Readies a try, as `prepareWait` readies a wait. */
  protected abstract prepareTry(
    ticket: T,
    limits: WaitLimits,
  ): Promise<void> | undefined;
  /** Draws only if nobody holds or waits; true once the ticket is granted. */
  protected abstract tryDraw(ticket: T): Promise<boolean>;
  /** Draws a number and watches the queue until the ticket is granted. */
  protected abstract enter(ticket: T): Promise<void>;
  /** Runs as the turn becomes the ticket's, before its user hears of it. */
  protected abstract granting(ticket: T, sentAt: number): void;
  /** Stops watching the queue for the ticket. */
  protected abstract unwatch(ticket: T): void;
  /** Whether the ticket's draw got a place that it must leave. */
  protected abstract hasPlace(ticket: T): boolean;
  /** The leave step: takes the ticket's user out of the queue. */
  protected abstract leave(ticket: T, outcome: Outcome): Promise<ReleaseResult>;
  /** The Lock handed to the user of a granted ticket. */
  protected abstract lockOf(ticket: T): Lock;
  /** Names of every resource with a queue, sorted. */
  protected abstract listResources(): Promise<string[]>;
  /** The queues of `resources` that exist, in the order given. */
  protected abstract readQueues(
    resources: readonly string[],
  ): Promise<ResourceStatus[]>;
  /** turn 1.0's reset of one resource. */
  protected abstract resetQueue(
    resource: string,
    forget: boolean,
  ): Promise<ResetResult>;
  /** Events of `resources`, or of every resource when `undefined`. */
  protected abstract followQueues(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow;
  /** Ends what the backend keeps open, once every user has left. */
  protected abstract shutDown(): Promise<void>;

  /** Runs `work` on queues; a backend may connect first, or map errors. */
  protected onQueues<R>(work: () => Promise<R>): Promise<R> {
    return work();
  }

  /** Throws if a backend cannot name a queue `resources` gives. */
  protected assertNames(_resources: readonly string[]): void {}

  /** Runs as closing begins, before users leave. */
  protected beginClose(): void {}

  /** Why a timed-out wait could not reach its server; a server-less backend never says. */
  protected unreachable(_ticket: T): ConnectionError | undefined {
    return undefined;
  }

  /** Waits until earlier looks at the queue for the ticket are done. */
  protected async looksDone(_ticket: T): Promise<void> {}

  // -------------------------------------------------------------------------
  // Taking a turn

  /** Whether closing has begun. */
  protected get closed(): boolean {
    return this.#closed;
  }

  protected assertOpen(): void {
    if (this.#closed) throw new TurnError("the Locker is closed");
  }

  /**
   * Waits for the turn on `resource`. A wait that is ready at once draws at
   * once, in the caller's tick; errors reject, never throw.
   */
  acquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
  ): Promise<Lock> {
    const wait = (ticket: T) => {
      limits.signal?.throwIfAborted();
      // close() may have begun while the wait was readied: it fails only the
      // tickets it finds, so one added after it must not start.
      this.assertOpen();
      this.tickets.add(ticket);
      return this.inFlight.track(awaitTurn(ticket, limits, this.#waitSteps));
    };
    return this.#readied(resource, spec, limits, "prepareWait", wait);
  }

  /** Takes the turn only if nobody holds or waits; `null` when busy. */
  tryAcquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
  ): Promise<Lock | null> {
    const tryNow = (ticket: T) => {
      limits.signal?.throwIfAborted();
      return this.inFlight.track(this.#try(ticket));
    };
    return this.#readied(resource, spec, limits, "prepareTry", tryNow);
  }

  /** A new ticket, readied by `prepare`, then given to `go`. */
  #readied<R>(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
    prepare: "prepareWait" | "prepareTry",
    go: (ticket: T) => Promise<R>,
  ): Promise<R> {
    return rejecting(() => {
      this.assertOpen();
      const ticket = this.ticketFor(resource, spec);
      const preparing = this[prepare](ticket, limits);
      return preparing ? preparing.then(() => go(ticket)) : go(ticket);
    });
  }

  async #try(ticket: T): Promise<Lock | null> {
    if (!await this.tryDraw(ticket)) return null;
    this.tickets.add(ticket);
    const lock = this.lockOf(ticket);
    if (!this.#closed) return lock;
    // Closing began while this try drew: the turn goes back.
    await lock.release();
    throw new TurnError("the Locker was closed while trying");
  }

  /**
   * Makes the turn the ticket's, unless it has left meanwhile. `fenceOf` is
   * the fencing token, or gives it when asked (only then); `sentAt` is when
   * the step that found the turn was sent.
   */
  protected grant(
    ticket: T,
    fenceOf: bigint | (() => bigint),
    sentAt: number = Date.now(),
  ): void {
    if (ticket.state !== "waiting" && ticket.state !== "drawing") return;
    ticket.fence = typeof fenceOf === "bigint" ? fenceOf : fenceOf();
    this.granting(ticket, sentAt);
    ticket.grant();
  }

  // -------------------------------------------------------------------------
  // Leaving

  /** Leaves the queue after a failed wait; resolves to the live users ahead. */
  protected async leaveWaiting(
    ticket: T,
    entered: Promise<void>,
  ): Promise<number> {
    ticket.state = "leaving";
    await entered.catch(() => {});
    // A redraw may have started after the first draw; its number is the one to leave.
    await ticket.drawing;
    await this.looksDone(ticket);
    this.unwatch(ticket);
    this.tickets.delete(ticket);
    if (!this.hasPlace(ticket)) return 0;
    try {
      return (await this.leave(ticket, "left")).ahead;
    } catch {
      return Math.max(0, ticket.ahead);
    }
  }

  /**
   * The holder of a granted ticket leaves: its Lock's release. The leave
   * step goes out in the caller's tick; errors reject, never throw.
   */
  protected leaveHeld(ticket: T, outcome: ReleaseOutcome): Promise<void> {
    // close() may have released it already.
    if (ticket.state === "gone") return Promise.resolve();
    return rejecting(() => {
      this.tickets.delete(ticket);
      this.unwatch(ticket);
      return this.leaveAsHolder(ticket, outcome);
    });
  }

  /** Runs the leave step of a holder; closing waits for it. */
  protected leaveAsHolder(ticket: T, outcome: ReleaseOutcome): Promise<void> {
    return this.inFlight.track(this.leave(ticket, outcome).then(() => {}));
  }

  // -------------------------------------------------------------------------
  // Reading and resetting queues

  /** Names of every resource with a queue, sorted. */
  async resources(): Promise<string[]> {
    this.assertOpen();
    return await this.onQueues(() => this.listResources());
  }

  /** See {@linkcode Engine.checkNames}. */
  checkNames(resources: readonly string[]): Promise<void> {
    return rejecting(() => Promise.resolve(this.assertNames(resources)));
  }

  /** The queues of `resources` that exist, in the order given. */
  async status(resources: readonly string[]): Promise<ResourceStatus[]> {
    this.assertOpen();
    this.assertNames(resources);
    return await this.onQueues(() => this.readQueues(resources));
  }

  /** turn 1.0's reset, per resource; `forget` also drops idle fences. */
  async reset(
    resources: readonly string[],
    forget: boolean,
  ): Promise<ResetResult[]> {
    this.assertOpen();
    this.assertNames(resources);
    return await this.onQueues(async () => {
      const results: ResetResult[] = [];
      for (const resource of resources) {
        results.push(await this.resetQueue(resource, forget));
      }
      return results;
    });
  }

  /** Events of `resources`, or of every resource when `undefined`. */
  follow(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow {
    this.assertOpen();
    return this.followQueues(resources, signal);
  }

  // -------------------------------------------------------------------------
  // Closing

  /**
   * Held turns are released (`completed`), waits fail and leave; settles
   * once every departure tracked, waits included, is done and the backend
   * has shut down.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    // From here on, new calls are refused; work under way may finish.
    this.#closed = true;
    this.beginClose();
    const closing = new TurnError("the Locker was closed while waiting");
    for (const ticket of this.tickets) {
      if (ticket.state === "held") {
        this.leaveHeld(ticket, "completed").catch(() => {});
      } else ticket.fail(closing);
    }
    await this.inFlight.settled();
    await this.shutDown();
  }
}
