/**
 * The Redis side of the Locker: draws numbers, waits for turns by pub/sub,
 * keeps presences alive with one heartbeat per Locker, and hands turns on.
 *
 * @module
 */

import type { Cluster, Redis } from "ioredis";
import {
  BUMP,
  commonArgs,
  DISPENSER_PATTERN,
  DRAW,
  drawKey,
  EXTERNAL_PATTERN,
  type InternalPublish,
  newDrawToken,
  NEWEST_GRACE_MS,
  numberOfPresenceKey,
  type Outcome,
  POLL,
  presenceKey,
  RELEASE,
  RENEW,
  RESET,
  type ResourceKeys,
  resourceKeys,
  resourceOf,
  type Script,
  scriptFor,
  STATUS,
  tokenKey,
} from "./protocol.ts";
import { runScript, runScripts, type ScriptCall } from "./scripts.ts";
import {
  type Client,
  type Connection,
  duplicateClient,
  waitUntilReady,
} from "./connection.ts";
import { Ticket, type TicketSpec, type TicketState } from "./ticket.ts";
import type { Lock, ReleaseOutcome } from "./lock.ts";
import { TurnError } from "./errors.ts";
import type {
  LockerOptions,
  ResetResult,
  ResourceStatus,
  UserStatus,
} from "./types.ts";
import { Subscriber } from "./subscriber.ts";
import type { Engine, WaitLimits } from "./engine.ts";
import { Follow } from "./follow.ts";
import {
  departAll,
  Departures,
  takeTurn,
  type TicketSteps,
} from "./departures.ts";
import { quit } from "./quit.ts";
import { isSlotMoving } from "./slot_move.ts";
import { delay, settleWithin, waitOrGiveUp } from "./wait.ts";
import { isAway, ownError } from "./redis_errors.ts";

const DEFAULT_CONNECT_TIMEOUT = 5_000;
/** How long a user that gives up waits for Redis to confirm it has left. */
const LEAVE_REPLY_WAIT_MS = 250;
/** Pause between draws that failed because Redis is away. */
const REDRAW_WHILE_AWAY_MS = 100;

type Reply = (number | string)[];

/** The Redis implementation behind a Locker. */
export class RedisEngine implements Engine {
  readonly #connection: Connection;
  readonly #connectTimeout: number;
  readonly #hashTag: boolean;
  readonly #subscriber: Subscriber;
  readonly #tickets = new Set<Ticket>();
  /** Waiting tickets by internal channel, for dispatching announcements. */
  readonly #waiting = new Map<string, Set<Ticket>>();
  /** When each resource's holder's presence would expire, by internal channel. */
  readonly #holderDeadlines = new Map<string, number>();
  /** Checks due on tickets right behind an announced number. */
  readonly #checks = new Map<Ticket, number>();
  /** Newest numbers left without presence, to skip after a grace period. */
  readonly #followUps = new Map<string, { keys: ResourceKeys; skip: number }>();
  readonly #departures = new Departures();
  /** Waits with a timeout: their draw waits for a Redis that is away. */
  readonly #bounded = new WeakSet<Ticket>();
  readonly #steps: TicketSteps = {
    departures: this.#departures,
    tickets: this.#tickets,
    closed: () => this.#closed,
    tryDraw: (ticket) => this.#tryDraw(ticket),
    enter: (ticket) => this.#enter(ticket),
    leave: (ticket, entered) => this.#leave(ticket, entered),
    lockOf: (ticket) => this.#lockOf(ticket),
  };
  #followUpDue = 0;
  #ready: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastBeat = 0;
  /** No ticket and no follow-up: the heartbeat clock is stopped. */
  #idle = true;
  #beating = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Aborts when closing, ending waits for a reconnect. */
  readonly #closeController = new AbortController();
  /** On the command client; taken off when closing, as it may be borrowed. */
  readonly #clientListeners: ReadonlyArray<[string, () => void]> = [
    // Without a listener, ioredis prints every connection error to the console.
    ["error", () => {}],
    ["close", () => this.#onConnectionLost()],
    // A Cluster emits "close" only once every node is gone; one master lost
    // (and its keys with it, until a replica takes over) shows as "-node".
    ["-node", () => this.#onConnectionLost()],
    ["ready", () => this.#onReconnected()],
  ];
  /** How scripts announce grants; SPUBLISH once a cluster proves it has it. */
  #publish: InternalPublish = "PUBLISH";

  /** `connection` is `options`' connection, planned and built. */
  constructor(options: LockerOptions, connection: Connection) {
    this.#connection = connection;
    this.#connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    this.#hashTag = options.hashTag ?? connection.cluster;
    for (const [event, listener] of this.#clientListeners) {
      this.#connection.client.on(event, listener);
    }
    this.#subscriber = new Subscriber(
      () => duplicateClient(this.#connection),
      (client) => this.#connect(client),
      () => this.#onSubscriberReconnected(),
    );
  }

  /**
   * A dropped connection may mean a restarted Redis that lost every key, and
   * others may be granted as soon as it is back: no held lease can be
   * trusted past this point, so each is given up before a reconnect.
   */
  #onConnectionLost(): void {
    for (const ticket of this.#tickets) {
      if (ticket.state === "held") {
        ticket.lose("the connection to Redis was lost (its keys may be gone)");
      }
    }
  }

  /**
   * Waiters ask at once after a reconnect rather than at the next heartbeat
   * (up to expire / 3 away): their presence may be gone, the queue may have
   * moved, and announcements sent meanwhile were missed.
   */
  #onReconnected(): void {
    if (this.#closed || this.#beating || this.#tickets.size === 0) return;
    void this.#beat(Date.now());
  }

  /** Announcements sent while the subscriber was away were lost. */
  #onSubscriberReconnected(): void {
    for (const ticket of this.#tickets) {
      if (ticket.state === "waiting") void this.#poll(ticket);
    }
  }

  get #client(): Client {
    return this.#connection.client;
  }

  /** Connects the command client once; later calls share the attempt. */
  ready(): Promise<void> {
    this.#assertOpen();
    this.#ready ??= this.#connectCommands().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #connectCommands(): Promise<void> {
    await this.#connect(this.#client);
    if (!this.#connection.cluster) return;
    // Sharded pub/sub came with Redis 7; older clusters get PUBLISH.
    const [spublish] = await this.#owned(
      this.#client.call("COMMAND", "INFO", "SPUBLISH"),
    ) as unknown[];
    this.#publish = spublish ? "SPUBLISH" : "PUBLISH";
  }

  /** `work`, rejecting with this module's errors only, never ioredis's. */
  async #owned<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.#own(error);
    }
  }

  #own(error: unknown): Error {
    return ownError(this.#connection.address, error);
  }

  #connect(client: Client): Promise<void> {
    return waitUntilReady(
      client,
      this.#connection.address,
      this.#connectTimeout,
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new TurnError("the Locker is closed");
  }

  #call(script: Script, keys: ResourceKeys, extra: ScriptCall["args"]) {
    return runScript(this.#client, this.#callOf(script, keys, extra));
  }

  #callOf(
    script: Script,
    keys: ResourceKeys,
    extra: ScriptCall["args"],
    userKeys: readonly string[] = [],
  ): ScriptCall {
    return {
      script: scriptFor(script, this.#publish),
      keys: [keys.dispenser, keys.indicator, ...userKeys],
      args: [...commonArgs(keys), ...extra],
    };
  }

  /**
   * A script about the ticket's own place: its presence, token and draw
   * keys, with its number, label and `extra` before its token.
   */
  #userCall(
    script: Script,
    ticket: Ticket,
    extra: ScriptCall["args"],
    after: ScriptCall["args"] = [],
  ): ScriptCall {
    const { keys, number, token } = ticket;
    return this.#callOf(
      script,
      keys,
      [number, ticket.spec.label, ...extra, token, ...after],
      [presenceKey(keys, number), tokenKey(keys, number), drawKey(keys, token)],
    );
  }

  /** A draw for the ticket; `tryOnly` only if nobody holds or waits. */
  #drawCall(ticket: Ticket, tryOnly: boolean, skip: number): ScriptCall {
    const { keys, spec, token } = ticket;
    return this.#callOf(
      DRAW,
      keys,
      [
        spec.label,
        spec.expire,
        tryOnly ? 1 : 0,
        skip,
        token,
        keys.tokenPrefix,
        keys.fence,
      ],
      [drawKey(keys, token)],
    );
  }

  // -------------------------------------------------------------------------
  // Taking a turn

  /** Waits for the turn on `resource`; `null` from `tryOnly` when busy. */
  async acquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
    tryOnly: boolean,
  ): Promise<Lock | null> {
    this.#assertOpen();
    const ticket = new Ticket(this.#keys(resource), spec);
    // A wait with a timeout waits for Redis within it (see #drawWhileAway).
    if (!tryOnly && limits.timeout !== undefined) this.#bounded.add(ticket);
    else {
      // An abort ends the wait for the connection too.
      await waitOrGiveUp(this.ready(), { signal: limits.signal });
      // close() may have run while this call waited for the connection.
      this.#assertOpen();
    }
    limits.signal?.throwIfAborted();
    return await takeTurn(ticket, limits, tryOnly, this.#steps);
  }

  #tryDraw(ticket: Ticket): Promise<Lock | null> {
    return this.#owned(this.#tryDrawOnce(ticket));
  }

  async #tryDrawOnce(ticket: Ticket): Promise<Lock | null> {
    let skip = 0;
    for (;;) {
      const sentAt = Date.now();
      const reply = await runScript(
        this.#client,
        this.#drawCall(ticket, true, skip),
      ) as Reply;
      const [n, third] = [Number(reply[0]), Number(reply[2])];
      if (n > 0) {
        ticket.number = n;
        ticket.fence = BigInt(reply[2]);
        ticket.grant(sentAt);
        this.#tickets.add(ticket);
        return this.#lockOf(ticket);
      }
      // A newest number without presence may be a turn 1.0 client mid-draw.
      if (third === 0 || skip === third) return null;
      skip = third;
      await delay(NEWEST_GRACE_MS);
    }
  }

  /** Draws a number, then watches the queue until the turn comes. */
  async #enter(ticket: Ticket): Promise<void> {
    await this.#drawWhileAway(ticket);
    if (ticket.state !== "waiting") return;
    // Once drawn, a failed subscription (Redis away for a moment) must not
    // end the wait: heartbeats poll meanwhile, and the next beat reconnects.
    // A refused one (no ACL permission) never comes right, so it does.
    await this.#watch(ticket).catch((error) => {
      if (isRefused(error)) ticket.fail(this.#own(error));
    });
    // The turn may have been announced before the subscription was active.
    await this.#poll(ticket);
  }

  /**
   * Connects if need be and draws a number. While Redis is away (refused,
   * or ioredis gave a command up after about 4.5 s of reconnecting), a wait
   * with a timeout tries again until Redis is back or the wait ends, as a
   * waiter that drew before the outage waits; one without a timeout fails
   * with a ConnectionError. A refusal (a wrong password, a missing
   * permission) fails at once either way.
   */
  async #drawWhileAway(ticket: Ticket): Promise<void> {
    for (;;) {
      try {
        await this.ready();
        return await this.#draw(ticket);
      } catch (error) {
        const waits = this.#bounded.has(ticket) && isAway(error) &&
          ticket.state === "drawing" && !this.#closed;
        if (!waits) throw this.#own(error);
      }
      await delay(REDRAW_WHILE_AWAY_MS);
    }
  }

  /** Draws a number; the ticket remembers the draw so leaving can await it. */
  #draw(ticket: Ticket): Promise<void> {
    const drawing = this.#drawOnce(ticket);
    ticket.drawing = drawing.catch(() => {});
    return drawing;
  }

  async #drawOnce(ticket: Ticket): Promise<void> {
    const sentAt = Date.now();
    const reply = await runScript(
      this.#client,
      this.#drawCall(ticket, false, 0),
    ) as Reply;
    ticket.number = Number(reply[0]);
    ticket.validUntil = sentAt + ticket.spec.expire;
    ticket.lastNews = Date.now();
    if (ticket.state === "leaving") return;
    if (Number(reply[1]) === 1) {
      return this.#grant(ticket, sentAt, BigInt(reply[2]));
    }
    ticket.state = "waiting";
    ticket.seeIndicator(Number(reply[2]));
    this.#schedule();
  }

  #grant(ticket: Ticket, sentAt: number, fence: bigint): void {
    if (ticket.state !== "waiting" && ticket.state !== "drawing") return;
    ticket.fence = fence;
    this.#unwatch(ticket);
    ticket.grant(sentAt);
  }

  async #watch(ticket: Ticket): Promise<void> {
    const channel = ticket.keys.internal;
    let tickets = this.#waiting.get(channel);
    if (!tickets) this.#waiting.set(channel, tickets = new Set());
    tickets.add(ticket);
    await (this.#publish === "SPUBLISH"
      ? this.#subscriber.listenShard(channel, this.#onAnnouncement)
      : this.#subscriber.listen(channel, this.#onAnnouncement));
  }

  #unwatch(ticket: Ticket): void {
    const channel = ticket.keys.internal;
    const tickets = this.#waiting.get(channel);
    this.#checks.delete(ticket);
    if (!tickets?.delete(ticket)) return;
    if (tickets.size > 0) return;
    this.#waiting.delete(channel);
    this.#holderDeadlines.delete(channel);
    if (this.#publish === "SPUBLISH") {
      this.#subscriber.unlistenShard(channel, this.#onAnnouncement);
    } else this.#subscriber.unlisten(channel, this.#onAnnouncement);
  }

  /** Asks Redis where the ticket stands; grants, redraws or notes the holder. */
  async #poll(ticket: Ticket): Promise<void> {
    if (ticket.busy) {
      ticket.recheck = true;
      return;
    }
    ticket.busy = true;
    let lapsed = false;
    try {
      do {
        ticket.recheck = false;
        if (ticket.state !== "waiting") return;
        const sentAt = Date.now();
        const reply = await runScript(this.#client, this.#pollCall(ticket));
        lapsed = this.#applyPoll(ticket, reply as Reply, sentAt);
      } while (ticket.recheck && !lapsed);
    } catch (error) {
      // Redis is unreachable: the next heartbeat asks again.
      if (isRefused(error)) ticket.fail(this.#own(error));
    } finally {
      ticket.busy = false;
    }
    if (lapsed) await this.#redraw(ticket);
  }

  #pollCall(ticket: Ticket): ScriptCall {
    return this.#userCall(POLL, ticket, [ticket.spec.expire, 0], [
      ticket.keys.fence,
    ]);
  }

  /** Applies a poll's reply; true when the ticket lapsed and must redraw. */
  #applyPoll(ticket: Ticket, reply: Reply, sentAt: number): boolean {
    const verdict = Number(reply[0]);
    if (verdict < 0) return true;
    if (verdict === 1) {
      this.#grant(ticket, sentAt, BigInt(reply[1]));
      return false;
    }
    ticket.validUntil = sentAt + ticket.spec.expire;
    ticket.seeIndicator(Number(reply[1]));
    const holderTtl = Number(reply[2]);
    if (holderTtl >= 0) {
      this.#holderDeadlines.set(ticket.keys.internal, sentAt + holderTtl + 1);
      // The timer may be set for a heartbeat much later than this deadline.
      this.#schedule();
    }
    return false;
  }

  /** A waiter whose presence lapsed draws again at the back of the queue. */
  async #redraw(ticket: Ticket): Promise<void> {
    if (ticket.state !== "waiting" || ticket.busy) return;
    ticket.busy = true;
    try {
      this.#unwatch(ticket);
      ticket.state = "drawing" as TicketState;
      ticket.token = newDrawToken();
      await this.#draw(ticket);
      if (ticket.state === "waiting") await this.#watch(ticket).catch(() => {});
    } catch (error) {
      ticket.fail(this.#own(error));
    } finally {
      ticket.busy = false;
    }
    if (ticket.state === "waiting") await this.#poll(ticket);
  }

  /** Leaves the queue after a failed wait; returns the live users ahead. */
  async #abandon(ticket: Ticket, entered: Promise<void>): Promise<number> {
    ticket.state = "leaving";
    await entered.catch(() => {});
    // A redraw may have started after the first draw; its number is the one to leave.
    await ticket.drawing;
    this.#unwatch(ticket);
    this.#tickets.delete(ticket);
    if (ticket.number === 0) return 0;
    try {
      const reply = await this.#finish(ticket, "left");
      return Number(reply[1]);
    } catch {
      return Math.max(0, ticket.ahead);
    }
  }

  /**
   * Leaves after a failed wait and returns the live users ahead. Giving up
   * must not wait for a Redis that is away or stalled: the leave goes on in
   * the background (close() still awaits it) and the last count seen is used.
   */
  #leave(ticket: Ticket, entered: Promise<void>): Promise<number> {
    const leaving = this.#departures.track(this.#abandon(ticket, entered));
    const lastSeen = Math.max(0, ticket.ahead);
    if (this.#client.status !== "ready") return Promise.resolve(lastSeen);
    return settleWithin(leaving, LEAVE_REPLY_WAIT_MS, lastSeen);
  }

  async #finish(ticket: Ticket, outcome: Outcome): Promise<Reply> {
    ticket.state = "gone";
    const call = this.#userCall(RELEASE, ticket, [outcome, 0]);
    try {
      return this.#finished(ticket, await runScript(this.#client, call));
    } catch (error) {
      if (isSlotMoving(error)) this.#finishLater(ticket, call);
      throw error;
    }
  }

  #finished(ticket: Ticket, reply: unknown): Reply {
    const stuck = Number((reply as Reply)[2]);
    if (stuck > 0) this.#followUp(ticket.keys, stuck);
    return reply as Reply;
  }

  /**
   * A slot move outlasted the release's own wait, and the caller has been
   * told. The release goes on trying in the background until the presence
   * would lapse anyway (or the Locker closes), so the next user is served
   * as soon as the move ends, not an `expire` later.
   */
  #finishLater(ticket: Ticket, call: ScriptCall): void {
    const keepTrying = () => !this.#closed && Date.now() < ticket.validUntil;
    this.#departures.track(
      runScript(this.#client, call, keepTrying)
        .then((reply) => void this.#finished(ticket, reply), () => {}),
    );
  }

  #lockOf(ticket: Ticket): Lock {
    this.#schedule();
    return ticket.lock(
      (outcome) => this.#release(ticket, outcome),
      () => ticket.checkLease(),
      { validUntil: () => ticket.validUntil, fence: ticket.fence },
    );
  }

  async #release(ticket: Ticket, outcome: ReleaseOutcome): Promise<void> {
    // close() may have released it already.
    if (ticket.state === "gone") return;
    ticket.checkLease();
    this.#tickets.delete(ticket);
    if (!ticket.leaseSignal.aborted) {
      await this.#owned(this.#departures.track(this.#finish(ticket, outcome)));
      return;
    }
    // A lost lease may still be a turn nobody else was given (its connection
    // dropped, Redis kept its keys): the release checks the draw token, and
    // then hands over at once rather than leave the next user waiting for
    // the presence to lapse. Redis may be away, so it goes on in the
    // background (close() awaits it) and its failure changes nothing here.
    void this.#departures.track(this.#handOver(ticket, outcome)).catch(
      () => {},
    );
  }

  /**
   * Releases a ticket whose lease was lost, again after each reconnect while
   * Redis is away, for as long as its presence may still be alive there.
   */
  async #handOver(ticket: Ticket, outcome: ReleaseOutcome): Promise<void> {
    const until = ticket.validUntil + ticket.spec.expire;
    for (;;) {
      try {
        await this.#finish(ticket, outcome);
        return;
      } catch (error) {
        // Only a reconnect can help: none is under way when the client is
        // ready (or has ended), and after `until` the presence is gone.
        const { status } = this.#client;
        const hopeless = status === "ready" || status === "end";
        if (!isAway(error) || hopeless || Date.now() >= until) throw error;
      }
      await this.#reconnected(until - Date.now());
      if (this.#closed && this.#client.status !== "ready") return;
    }
  }

  /** Resolves on the command client's next "ready", after `ms`, or on close. */
  #reconnected(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closeController.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.#client.off("ready", done);
        this.#closeController.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#client.on("ready", done);
      this.#closeController.signal.addEventListener("abort", done);
    });
  }

  /** Skips a newest number without presence once it had its grace period. */
  #followUp(keys: ResourceKeys, skip: number): void {
    this.#followUps.set(keys.dispenser, { keys, skip });
    this.#followUpDue = Date.now() + NEWEST_GRACE_MS;
    this.#schedule();
  }

  // -------------------------------------------------------------------------
  // Announcements and the heartbeat

  readonly #onAnnouncement = (channel: string, payload: string): void => {
    const tickets = this.#waiting.get(channel);
    if (!tickets || tickets.size === 0) return;
    const keys = tickets.values().next().value!.keys;
    const announced = numberOfPresenceKey(keys, payload);
    if (announced === undefined) return;
    const now = Date.now();
    // The old holder's deadline says nothing about the new one.
    this.#holderDeadlines.delete(channel);
    let front: Ticket | undefined;
    for (const ticket of tickets) {
      ticket.lastNews = now;
      ticket.seeIndicator(announced);
      this.#checks.delete(ticket);
      // Its own number, or a later one: it was skipped and must redraw.
      if (ticket.number <= announced) void this.#poll(ticket);
      else if (!front || ticket.number < front.number) front = ticket;
    }
    // This Locker's first waiter asks once the grace is over: right behind
    // the announced user, it skips it if it is gone; further back, it learns
    // when the new holder's presence runs out, since the waiters in between
    // may be dead too. The grace lets an alive holder's announcement pass.
    if (front) this.#checks.set(front, now + NEWEST_GRACE_MS);
    this.#schedule();
  };

  #beatInterval(): number {
    let shortest = Infinity;
    for (const ticket of this.#tickets) {
      shortest = Math.min(shortest, ticket.spec.expire);
    }
    return shortest / 3;
  }

  /**
   * When the next heartbeat is due: every `expire / 3`, or sooner for a
   * waiter out of patience, a holder whose presence is about to run out, or a
   * follow-up. Deadlines a finished beat already handled lie before
   * `#lastBeat` and do not count, so a failing beat cannot spin.
   */
  #beatDue(): number {
    let due = this.#lastBeat + this.#beatInterval();
    for (const ticket of this.#tickets) {
      const bumpAt = ticket.lastNews + ticket.spec.patience;
      if (ticket.state === "waiting" && bumpAt > this.#lastBeat) {
        due = Math.min(due, bumpAt);
      }
    }
    for (const deadline of this.#holderDeadlines.values()) {
      due = Math.min(due, deadline);
    }
    if (this.#followUps.size > 0) due = Math.min(due, this.#followUpDue);
    return due;
  }

  /** When a held lease that is not lost yet runs out locally. */
  #leaseDue(): number {
    let due = Infinity;
    for (const ticket of this.#tickets) {
      if (ticket.state === "held" && !ticket.leaseSignal.aborted) {
        due = Math.min(due, ticket.validUntil + 1);
      }
    }
    return due;
  }

  #nextDue(): number {
    // A beat under way reschedules when it ends; meanwhile only leases count.
    if (this.#beating) return this.#leaseDue();
    let due = Math.min(this.#leaseDue(), this.#beatDue());
    for (const check of this.#checks.values()) due = Math.min(due, check);
    return due;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    if (this.#tickets.size === 0 && this.#followUps.size === 0) {
      this.#idle = true;
      return;
    }
    // A draw has just refreshed the presence: the first beat is due one
    // interval from now, not at once.
    if (this.#idle) this.#lastBeat = Date.now();
    this.#idle = false;
    const wait = Math.max(0, this.#nextDue() - Date.now());
    this.#timer = setTimeout(() => this.#tick(), Math.min(wait, 2 ** 31 - 1));
  }

  #tick(): void {
    const now = Date.now();
    for (const ticket of this.#tickets) ticket.checkLease(now);
    // A beat under way reschedules everything when it ends.
    if (!this.#beating) {
      if (this.#beatDue() <= now) void this.#beat(now);
      else this.#runDueChecks(now);
    }
    this.#schedule();
  }

  /** Polls just the waiters whose check after an announcement is due. */
  #runDueChecks(now: number): void {
    for (const [ticket, at] of this.#checks) {
      if (at > now) continue;
      this.#checks.delete(ticket);
      void this.#poll(ticket);
    }
  }

  /** One round trip: renews holders, polls waiters, bumps and follows up. */
  async #beat(now: number): Promise<void> {
    this.#beating = true;
    this.#subscriber.reopen().catch(() => {});
    this.#lastBeat = now;
    this.#holderDeadlines.clear();
    this.#checks.clear();
    const followUps = this.#dueFollowUps(now);
    const polled = [...this.#tickets].filter((t) =>
      t.state === "waiting" && !t.busy
    );
    const held = [...this.#tickets].filter((t) =>
      t.state === "held" && !t.leaseSignal.aborted
    );
    const bumpers = polled.filter((t) => now - t.lastNews >= t.spec.patience);
    for (const ticket of polled) ticket.busy = true;
    const calls = [
      ...polled.map((t) => this.#pollCall(t)),
      ...held.map((t) => this.#userCall(RENEW, t, [t.spec.expire])),
      ...bumpers.map((t) => this.#callOf(BUMP, t.keys, [0, t.number])),
      ...followUps.map(({ keys, skip }) => this.#callOf(BUMP, keys, [skip, 0])),
    ];
    try {
      const results = await runScripts(this.#client, calls);
      polled.forEach((ticket, index) => {
        ticket.busy = false;
        const result = results[index];
        if (!result.ok && isRefused(result.error)) {
          ticket.fail(this.#own(result.error));
        } else if (
          result.ok && this.#applyPoll(ticket, result.value as Reply, now)
        ) {
          void this.#redraw(ticket);
        } else if (ticket.recheck) void this.#poll(ticket);
      });
      held.forEach((ticket, index) => {
        const result = results[polled.length + index];
        if (result.ok) this.#applyRenew(ticket, Number(result.value), now);
      });
      for (const ticket of bumpers) ticket.lastNews = now;
    } catch {
      // Redis is unreachable: leases run out locally, the next beat retries.
    } finally {
      for (const ticket of polled) ticket.busy = false;
      this.#beating = false;
      this.#schedule();
    }
  }

  #applyRenew(ticket: Ticket, verdict: number, sentAt: number): void {
    if (verdict !== 1) {
      return ticket.lose("its presence expired or the indicator moved on");
    }
    if (sentAt > ticket.validUntil) {
      return ticket.lose(
        `no heartbeat reached Redis within expire (${ticket.spec.expire} ms)`,
      );
    }
    ticket.validUntil = sentAt + ticket.spec.expire;
  }

  /** Runs pending follow-ups once due, so a closing Locker leaves no keys. */
  async #flushFollowUps(): Promise<void> {
    if (this.#followUps.size === 0) return;
    await delay(Math.max(0, this.#followUpDue - Date.now()));
    const due = this.#dueFollowUps(Date.now());
    await runScripts(
      this.#client,
      due.map(({ keys, skip }) => this.#callOf(BUMP, keys, [skip, 0])),
    ).catch(() => {});
  }

  #dueFollowUps(now: number): { keys: ResourceKeys; skip: number }[] {
    if (this.#followUps.size === 0 || now < this.#followUpDue) return [];
    const due = [...this.#followUps.values()];
    this.#followUps.clear();
    return due;
  }

  // -------------------------------------------------------------------------
  // Reading and resetting queues

  /**
   * Names of every resource with a queue in the database, sorted. On a
   * cluster, every master is scanned.
   */
  resources(): Promise<string[]> {
    return this.#owned(this.#resources());
  }

  async #resources(): Promise<string[]> {
    await this.ready();
    const found = new Set<string>();
    const servers = this.#connection.cluster
      ? (this.#client as Cluster).nodes("master")
      : [this.#client as Redis];
    for (const server of servers) {
      for (const name of await scanDispensers(server)) {
        const resource = resourceOf(name, "dispenser", this.#hashTag);
        if (resource !== undefined) found.add(resource);
      }
    }
    return [...found].sort();
  }

  /** The queues of `resources` that exist, in the order given. */
  status(resources: readonly string[]): Promise<ResourceStatus[]> {
    return this.#owned(this.#status(resources));
  }

  async #status(resources: readonly string[]): Promise<ResourceStatus[]> {
    await this.ready();
    const results = await runScripts(
      this.#client,
      resources.map((r) => {
        const keys = this.#keys(r);
        return this.#callOf(STATUS, keys, [keys.fence]);
      }),
    );
    return resources.flatMap((resource, index) => {
      const result = results[index];
      if (!result.ok) throw result.error;
      const reply = result.value as Reply;
      return reply.length === 0 ? [] : [statusOf(resource, reply)];
    });
  }

  /** turn 1.0's reset, per resource. */
  reset(
    resources: readonly string[],
    forget: boolean,
  ): Promise<ResetResult[]> {
    return this.#owned(this.#reset(resources, forget));
  }

  async #reset(
    resources: readonly string[],
    forget: boolean,
  ): Promise<ResetResult[]> {
    await this.ready();
    const results: ResetResult[] = [];
    for (const resource of resources) {
      const keys = this.#keys(resource);
      const args = [forget ? 1 : 0, keys.fence];
      const reply = await this.#call(RESET, keys, args) as Reply;
      results.push({
        resource,
        outcome: reply[0] as ResetResult["outcome"],
        users: Number(reply[1]),
      });
    }
    return results;
  }

  /** Events of `resources` from their external channels; all when undefined. */
  follow(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow {
    this.#assertOpen();
    const subscriber = this.#subscriber;
    const hashTag = this.#hashTag;
    return new Follow((emit) => {
      const listener = (channel: string, payload: string) => {
        const resource = resourceOf(channel, "external", hashTag);
        if (resource !== undefined) emit(resource, payload);
      };
      if (resources === undefined) {
        return {
          ready: this.#owned(
            subscriber.listenPattern(EXTERNAL_PATTERN, listener),
          ),
          stop: () => subscriber.unlistenPattern(EXTERNAL_PATTERN, listener),
        };
      }
      const channels = [
        ...new Set(resources.map((r) => this.#keys(r).external)),
      ];
      return {
        ready: this.#owned(
          Promise.all(channels.map((c) => subscriber.listen(c, listener))),
        ).then(() => {}),
        stop: () => channels.forEach((c) => subscriber.unlisten(c, listener)),
      };
    }, [signal, subscriber.closed]);
  }

  #keys(resource: string): ResourceKeys {
    return resourceKeys(resource, this.#hashTag);
  }

  // -------------------------------------------------------------------------
  // Closing

  /** Releases held turns, leaves queues, closes owned connections. */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    // From here on, new calls are refused; work under way may finish.
    this.#closed = true;
    this.#closeController.abort();
    await departAll(
      this.#tickets,
      (ticket) => this.#release(ticket, "completed"),
      this.#departures,
    );
    clearTimeout(this.#timer);
    await this.#flushFollowUps();
    await this.#subscriber.close();
    for (const [event, listener] of this.#clientListeners) {
      this.#client.off(event, listener);
    }
    if (this.#connection.owned) await quit(this.#client);
  }
}

/** Every dispenser key on one server. */
async function scanDispensers(server: Redis): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, names] = await server.scan(
      cursor,
      "MATCH",
      DISPENSER_PATTERN,
      "COUNT",
      1000,
    );
    cursor = next;
    found.push(...names);
  } while (cursor !== "0");
  return found;
}

function statusOf(resource: string, reply: Reply): ResourceStatus {
  const [indicator, dispenser] = [Number(reply[0]), Number(reply[1])];
  const fence = BigInt(String(reply[2]));
  const users: UserStatus[] = [];
  for (let index = 3; index < reply.length; index += 3) {
    users.push({
      number: Number(reply[index]),
      label: String(reply[index + 1]),
      ttl: Number(reply[index + 2]),
    });
  }
  const size = Math.max(0, dispenser - indicator + 1);
  return { resource, indicator, dispenser, size, users, fence };
}

// The ACL user lacks a command a script needs (Redis 7.0 words it as an ERR,
// later versions as NOPERM): asking again cannot help, so the wait fails with
// Redis's reason instead of lasting until its timeout.
const REFUSED = /^NOPERM |^ERR The user executing the script can't run/;

function isRefused(error: unknown): boolean {
  return error instanceof Error && REFUSED.test(error.message);
}
