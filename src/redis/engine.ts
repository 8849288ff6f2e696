/**
 * The Redis side of the Locker: draws numbers, waits for turns by pub/sub
 * (waiters.ts), keeps presences alive with one heartbeat per Locker
 * (heartbeat.ts), and hands turns on, each by one step (steps.ts). The
 * skeleton every backend shares is TurnEngine (../core.ts).
 *
 * @module
 */

import { newWakeId, resourceKeys } from "./keys.ts";
import type { Outcome } from "../messages.ts";
import {
  applying,
  type RedisReleaseResult,
  type Step,
  type Target,
} from "./steps.ts";
import type { Connection } from "./options.ts";
import type { TicketSpec } from "../ticket.ts";
import type { Lock, ReleaseOutcome } from "../lock.ts";
import type { LockerOptions, ResetResult, ResourceStatus } from "../types.ts";
import { Subscriber } from "./subscriber.ts";
import type { WaitLimits } from "../engine.ts";
import { Follow } from "../follow.ts";
import { TurnEngine } from "../core.ts";
import type { ConnectionError } from "../errors.ts";
import { isSlotMoving } from "./slot_move.ts";
import { settleWithin, waitOrGiveUp } from "../wait.ts";
import { RedisTicket } from "./ticket.ts";
import { Session } from "./session.ts";
import { Waiters } from "./waiters.ts";
import { LINGER_DEFAULTS, type LingerLimits, WAKE_LINGER } from "./channels.ts";
import { Heartbeat } from "./heartbeat.ts";
import {
  listenExternal,
  listResources,
  readQueues,
  resetQueue,
} from "./queues.ts";
import { leaveWhileAway } from "./outage.ts";
import { Draws } from "./draws.ts";
import { loseAllHeld, loseServedBy } from "./lease_loss.ts";

/** Options only tests give (see WAKE_LINGER). */
interface LingerSeam {
  readonly [WAKE_LINGER]?: LingerLimits;
}

/** How long a user that gives up waits for Redis to confirm it has left. */
const LEAVE_REPLY_WAIT_MS = 250;

/** The Redis implementation behind a Locker. */
export class RedisEngine extends TurnEngine<RedisTicket> {
  readonly #session: Session;
  readonly #hashTag: boolean;
  /** Names this Locker's wake channels and begins its draw tokens. */
  readonly #wakeId = newWakeId();
  readonly #subscriber: Subscriber;
  readonly #waiters: Waiters;
  readonly #heartbeat: Heartbeat;
  readonly #draws: Draws;
  /** Aborts when closing, ending waits for a reconnect. */
  readonly #closeController = new AbortController();

  /** `connection` is `options`' connection, planned and built. */
  constructor(options: LockerOptions, connection: Connection) {
    super();
    this.#hashTag = options.hashTag ?? connection.cluster;
    this.#session = new Session(connection, options.connectTimeout, {
      // Held leases a lost connection (or Cluster master) may have taken along.
      lost: () => loseAllHeld(this.tickets),
      nodeLost: (node) =>
        loseServedBy(
          this.tickets,
          node,
          (keys) => this.#session.masterOf(keys),
        ),
      back: () => this.#onReconnected(),
    });
    this.#subscriber = new Subscriber(
      () => this.#session.duplicate(),
      (client) => this.#session.connect(client),
      () => this.#onSubscriberReconnected(),
    );
    const grant = (ticket: RedisTicket, fence: bigint, sentAt: number) =>
      this.grant(ticket, fence, sentAt);
    this.#draws = new Draws(this.#session, {
      // The same wait for the connection as a lock without a timeout takes,
      // so that locks asked in turn while connecting draw in turn.
      ready: () => this.#connect(undefined),
      connected: () => this.#session.connected && !this.closed,
      grant,
      schedule: () => this.#heartbeat.schedule(),
      closed: () => this.closed,
    });
    this.#waiters = new Waiters(this.#subscriber, this.#session, {
      schedule: () => this.#heartbeat.schedule(),
      grant,
      draw: (ticket) => this.#draws.draw(ticket),
    }, (options as LingerSeam)[WAKE_LINGER] ?? LINGER_DEFAULTS);
    this.#heartbeat = new Heartbeat({
      tickets: this.tickets,
      waiters: this.#waiters,
      session: this.#session,
      closed: () => this.closed,
      reopen: () => void this.#subscriber.reopen().catch(() => {}),
    });
  }

  /**
   * Waiters ask at once after a reconnect rather than at the next heartbeat
   * (up to expire / 3 away): their presence may be gone, the queue may have
   * moved, and announcements sent meanwhile were missed.
   */
  #onReconnected(): void {
    if (this.closed || this.#heartbeat.beating || this.tickets.size === 0) {
      return;
    }
    void this.#heartbeat.beat(Date.now());
  }

  /** Announcements sent while the subscriber was away were lost. */
  #onSubscriberReconnected(): void {
    for (const ticket of this.tickets) {
      if (ticket.state === "waiting") void this.#waiters.poll(ticket);
    }
  }

  /** Connects the command client once; later calls share the attempt. */
  #ready(): Promise<void> {
    this.assertOpen();
    return this.#session.ready();
  }

  /** Where the steps on `resource` run. */
  #targetOf(resource: string): Target {
    return this.#session.target(resourceKeys(resource, this.#hashTag));
  }

  // -------------------------------------------------------------------------
  // Taking a turn

  protected ticketFor(resource: string, spec: TicketSpec): RedisTicket {
    return new RedisTicket(
      resource,
      resourceKeys(resource, this.#hashTag),
      spec,
      this.#wakeId,
    );
  }

  /** A wait with a timeout waits for Redis within it (see draws.ts). */
  protected prepareWait(
    ticket: RedisTicket,
    limits: WaitLimits,
  ): Promise<void> | undefined {
    if (limits.timeout === undefined) return this.prepareTry(ticket, limits);
    ticket.bounded = true;
  }

  /** Connects first, unless connected already. */
  protected prepareTry(
    _ticket: RedisTicket,
    limits: WaitLimits,
  ): Promise<void> | undefined {
    if (!this.#session.connected) return this.#connect(limits.signal);
  }

  async #connect(signal: AbortSignal | undefined): Promise<void> {
    // An abort ends the wait for the connection too.
    await waitOrGiveUp(this.#ready(), { signal });
    // close() may have run while this call waited for the connection.
    this.assertOpen();
  }

  protected tryDraw(ticket: RedisTicket): Promise<boolean> {
    return this.#session.owned(this.#draws.tryDraw(ticket));
  }

  /** Draws a number, then watches the queue until the turn comes. */
  protected async enter(ticket: RedisTicket): Promise<void> {
    const live = this.#waiters.join(ticket);
    await this.#draws.drawWhileAway(ticket);
    if (ticket.state !== "waiting") return;
    await this.#waiters.listen(ticket, live);
  }

  /** A granted ticket stops listening; its presence is alive from `sentAt`. */
  protected granting(ticket: RedisTicket, sentAt: number): void {
    this.#waiters.unwatch(ticket);
    ticket.validUntil = sentAt + ticket.spec.expire;
    ticket.master = this.#session.masterOf(ticket.keys);
  }

  protected unwatch(ticket: RedisTicket): void {
    this.#waiters.unwatch(ticket);
  }

  protected lockOf(ticket: RedisTicket): Lock {
    this.#heartbeat.scheduleHeld(ticket);
    return ticket.lock(
      (outcome) => this.leaveHeld(ticket, outcome),
      () => ticket.checkLease(),
      { validUntil: () => ticket.validUntil, fence: ticket.fence },
    );
  }

  // -------------------------------------------------------------------------
  // Leaving

  protected hasPlace(ticket: RedisTicket): boolean {
    return ticket.number !== 0;
  }

  /**
   * Leaves after a failed wait and returns the live users ahead. Giving up
   * must not wait for a Redis that is away or stalled: the leave goes on in
   * the background (close() still awaits it) and the last count seen is used.
   */
  protected override leaveWaiting(
    ticket: RedisTicket,
    entered: Promise<void>,
  ): Promise<number> {
    const leaving = this.inFlight.track(super.leaveWaiting(ticket, entered));
    const lastSeen = Math.max(0, ticket.ahead);
    if (this.#session.client.status !== "ready") {
      return Promise.resolve(lastSeen);
    }
    return settleWithin(leaving, LEAVE_REPLY_WAIT_MS, lastSeen);
  }

  /**
   * A wait that drew nothing because Redis was away, or that gave up while
   * the connection is down, could not reach Redis: the count of users
   * ahead would say nothing true.
   */
  protected override unreachable(
    ticket: RedisTicket,
  ): ConnectionError | undefined {
    if (ticket.number === 0 && ticket.away) return ticket.away;
    return this.#session.unreachable();
  }

  protected leave(
    ticket: RedisTicket,
    outcome: Outcome,
  ): Promise<RedisReleaseResult> {
    return this.#leave(ticket, outcome, (result) => result, (error) => error);
  }

  /**
   * The leave step. Its result goes through `then` as the reply is read,
   * and a failure is rethrown as `fail` makes it: one promise lies between
   * the reply and the caller.
   */
  #leave<R>(
    ticket: RedisTicket,
    outcome: Outcome,
    then: (result: RedisReleaseResult) => R,
    fail: (error: unknown) => unknown,
  ): Promise<R> {
    ticket.state = "gone";
    const step = ticket.steps.release(
      this.#session.target(ticket.keys),
      ticket.place,
      outcome,
    );
    const left = (result: RedisReleaseResult) =>
      then(this.#left(ticket, result));
    return this.#session.run(applying(step, left)).then(
      undefined,
      (error) => {
        if (isSlotMoving(error)) this.#leaveLater(ticket, step);
        throw fail(error);
      },
    );
  }

  #left(ticket: RedisTicket, result: RedisReleaseResult): RedisReleaseResult {
    if (result.stuck > 0) this.#heartbeat.followUp(ticket.keys, result.stuck);
    return result;
  }

  /**
   * A slot move outlasted the leave's own wait, and the caller has been
   * told. The leave goes on trying in the background until the presence
   * would lapse anyway (or the Locker closes), so the next user is served
   * as soon as the move ends, not an `expire` later.
   */
  #leaveLater(ticket: RedisTicket, step: Step<RedisReleaseResult>): void {
    const keepTrying = () => !this.closed && Date.now() < ticket.validUntil;
    this.inFlight.track(
      this.#session.run(step, keepTrying)
        .then((result) => void this.#left(ticket, result), () => {}),
    );
  }

  protected override leaveAsHolder(
    ticket: RedisTicket,
    outcome: ReleaseOutcome,
  ): Promise<void> {
    ticket.checkLease();
    if (!ticket.lost) {
      const leaving = this.#leave(ticket, outcome, () => {}, this.#own);
      return this.inFlight.track(leaving);
    }
    // A lost lease may still be a turn nobody else was given (its connection
    // dropped, Redis kept its keys): the leave checks the draw token, and
    // then hands over at once rather than leave the next user waiting for
    // the presence to lapse. Redis may be away, so it goes on in the
    // background (close() awaits it) and its failure changes nothing here.
    void this.inFlight.track(this.#handOver(ticket, outcome)).catch(
      () => {},
    );
    return Promise.resolve();
  }

  /** This module's error for `error`. */
  readonly #own = (error: unknown): Error => this.#session.own(error);

  /**
   * Leaves for a ticket whose lease was lost, again after each reconnect
   * while Redis is away, for as long as its presence may still be alive there.
   */
  #handOver(ticket: RedisTicket, outcome: ReleaseOutcome): Promise<void> {
    const until = ticket.validUntil + ticket.spec.expire;
    const leave = () => this.leave(ticket, outcome);
    const closing = this.#closeController.signal;
    return leaveWhileAway(leave, this.#session, until, closing);
  }

  // -------------------------------------------------------------------------
  // Reading and resetting queues

  /**
   * A name Redis keys cannot carry is bad input, refused as `lock` refuses
   * it, before connecting: not an error of the connection.
   */
  protected override assertNames(resources: readonly string[]): void {
    for (const resource of resources) resourceKeys(resource, this.#hashTag);
  }

  /** Connects first; rejects with this module's errors only. */
  protected override onQueues<R>(work: () => Promise<R>): Promise<R> {
    return this.#session.owned(this.#ready().then(work));
  }

  protected listResources(): Promise<string[]> {
    const { client, cluster } = this.#session;
    return listResources(client, cluster, this.#hashTag);
  }

  protected readQueues(
    resources: readonly string[],
  ): Promise<ResourceStatus[]> {
    return readQueues(this.#session, resources.map((r) => this.#targetOf(r)));
  }

  protected resetQueue(
    resource: string,
    forget: boolean,
  ): Promise<ResetResult> {
    return resetQueue(this.#session, this.#targetOf(resource), forget);
  }

  /** Events of `resources` from their external channels; all when undefined. */
  protected followQueues(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow {
    const subscriber = this.#subscriber;
    return new Follow((emit) => {
      const listening = listenExternal(
        subscriber,
        resources,
        this.#hashTag,
        emit,
      );
      return {
        ready: this.#session.owned(listening.ready),
        stop: () => listening.stop(),
      };
    }, [signal, subscriber.closed]);
  }

  // -------------------------------------------------------------------------
  // Closing

  protected override beginClose(): void {
    this.#closeController.abort();
  }

  /** Leaves no keys behind, then closes the connections it owns. */
  protected async shutDown(): Promise<void> {
    this.#heartbeat.stop();
    await this.#heartbeat.flushFollowUps();
    this.#waiters.close();
    await this.#subscriber.close();
    await this.#session.end();
  }
}
