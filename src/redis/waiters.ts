/**
 * The waiters of one Redis engine and what they hear. Each waits on its
 * Locker's wake channel for the resource, where a hand-over grants it in the
 * message itself; one whose holder is a turn 1.0 client (which hands over on
 * the internal channel only), or whose user follows its place in the queue
 * (`onQueue`), also listens on the internal channel, where every hand-over
 * is announced. A wake channel lingers once its last waiter has left (see
 * channels.ts): a waiter that finds it live before drawing joins it then,
 * keeps what it hears until its draw's reply, and needs no poll after it.
 * Also: the checks due soon after an announcement (on the waiter right
 * behind the new holder, and when a holder's presence would run out), and
 * the check itself: a poll, which grants, notes the holder, or has a lapsed
 * waiter draw again.
 *
 * @module
 */

import { numberOfPresenceKey, parseWake, type WakeMessage } from "./keys.ts";
import { NEWEST_GRACE_MS } from "./scripts.ts";
import type { RedisPollResult, Step } from "./steps.ts";
import type { Session } from "./session.ts";
import type { Subscriber } from "./subscriber.ts";
import { Channels, type LingerLimits } from "./channels.ts";
import type { RedisTicket } from "./ticket.ts";
import type { TicketState } from "../ticket.ts";

/**
 * When a waiter that needed no poll after its draw asks anyway (see
 * `#checkSoon`): a holder whose presence ran out is noticed at most this
 * much later than a poll right after the draw would (the shortest expire
 * a user may give), while a wait shorter than this asks nothing.
 */
const FIRST_CHECK_MS = 100;

/** The earliest of `times`, or Infinity; spreads no arguments. */
function earliest(times: Iterable<number>): number {
  let due = Infinity;
  for (const at of times) due = Math.min(due, at);
  return due;
}

/** What the waiters ask of their engine. */
export interface WaitersHost {
  /** A due time has changed: the heartbeat's timer is set again. */
  schedule(): void;
  /** Grants the ticket (see TurnEngine.grant). */
  grant(ticket: RedisTicket, fence: bigint, sentAt: number): void;
  /** Draws a number for the ticket. */
  draw(ticket: RedisTicket): Promise<void>;
}

/** Waiting tickets by the channels they hear, and the checks due on them. */
export class Waiters {
  readonly #session: Session;
  readonly #host: WaitersHost;
  /** Waiting tickets by wake channel, for grants. */
  readonly #wake: Channels;
  /** Tickets that also hear every announcement, by internal channel. */
  readonly #internal: Channels;
  /** Shared tickets, by their resource's shared wake channel. */
  readonly #shared: Channels;
  /**
   * When the presence of the nearest live user ahead of each waiter would
   * run out: then it asks again, so that a holder that died is noticed
   * within its expire, however far back the waiter is and whatever lies
   * between.
   */
  readonly #aheadDeadlines = new Map<RedisTicket, number>();
  /**
   * Checks due on waiters: right behind an announced number, or the first
   * of one that drew on a live channel.
   */
  readonly #checks = new Map<RedisTicket, number>();
  /**
   * Tickets that joined their live wake channel before drawing, and what
   * they heard there while their number was unknown.
   */
  readonly #early = new Map<RedisTicket, WakeMessage[]>();

  /** Wake channels linger within `linger` (see channels.ts). */
  constructor(
    subscriber: Subscriber,
    session: Session,
    host: WaitersHost,
    linger: LingerLimits,
  ) {
    this.#session = session;
    this.#host = host;
    this.#wake = new Channels(subscriber, session, this.#onWake, linger);
    this.#internal = new Channels(subscriber, session, this.#onAnnouncement);
    this.#shared = new Channels(subscriber, session, this.#onSharedGrant);
  }

  /**
   * Listens for the ticket's grant; on the internal channel too where it
   * must (see the module's comment). Resolves once subscribed.
   */
  async watch(ticket: RedisTicket): Promise<void> {
    if (ticket.shared) return await this.#shared.add(ticket.sharedWake, ticket);
    const wake = this.#wake.add(
      ticket.wakeChannel,
      ticket,
    );
    await Promise.all([wake, this.#hearIfNeeded(ticket)]);
  }

  /**
   * Before a plain ticket draws: if its wake channel is subscribed already
   * (for another waiter, or lingering), the ticket joins it now and keeps
   * what it hears there until its number is known. Returns the connection
   * on which the channel is live, if it is (see Subscriber.live).
   */
  join(ticket: RedisTicket): number | undefined {
    if (ticket.shared) return undefined;
    const channel = ticket.wakeChannel;
    const live = this.#wake.join(channel, ticket);
    if (this.#wake.has(channel, ticket)) this.#early.set(ticket, []);
    return live;
  }

  /**
   * After the ticket's draw left it waiting, `live` what `join` returned.
   * A wake channel live before the draw was sent, and still on the same
   * connection, has carried every message published since the draw ran:
   * what came before the draw's reply was kept, and is heard now. Otherwise
   * the ticket subscribes and then polls once, as its grant may have been
   * published before the subscription was live; so does a ticket that must
   * also hear the internal channel, where a turn 1.0 holder may have handed
   * over meanwhile.
   */
  async listen(ticket: RedisTicket, live: number | undefined): Promise<void> {
    const heard = this.#early.get(ticket) ?? [];
    this.#early.delete(ticket);
    const channel = ticket.wakeChannel;
    const warm = live !== undefined && this.#wake.live(channel) === live;
    for (const message of heard) this.#heard(ticket, message);
    if (ticket.state !== "waiting") return;
    if (warm && !this.#needsInternal(ticket)) return this.#checkSoon(ticket);
    // Once drawn, a failed subscription (Redis away for a moment) must not
    // end the wait: heartbeats poll meanwhile, and the next beat reconnects.
    // A refused one (no ACL permission) never comes right, so it does.
    await (warm ? this.#hearIfNeeded(ticket) : this.watch(ticket)).catch(
      (error) => this.#session.refuse(ticket, error),
    );
    await this.poll(ticket);
  }

  /**
   * A waiter that drew on a live channel still asks once, a little later:
   * the poll tells when the presence ahead runs out (a holder that died
   * must be noticed within its expire, which may be far shorter than the
   * heartbeat), or skips a holder dead already. A wait that ends before
   * then asks nothing.
   */
  #checkSoon(ticket: RedisTicket): void {
    this.#checks.set(ticket, Date.now() + FIRST_CHECK_MS);
    this.#host.schedule();
  }

  /** Whether the ticket must hear every announcement, not just its grant. */
  #needsInternal(ticket: RedisTicket): boolean {
    return ticket.foreign || ticket.spec.onQueue !== undefined;
  }

  async #hearIfNeeded(ticket: RedisTicket): Promise<void> {
    const channel = ticket.keys.internal;
    if (this.#needsInternal(ticket)) {
      await this.#internal.add(channel, ticket);
    } else this.#unhear(ticket);
  }

  #unhear(ticket: RedisTicket): void {
    this.#checks.delete(ticket);
    this.#internal.delete(ticket.keys.internal, ticket);
  }

  /** Stops listening for the ticket; the last one on a channel leaves it. */
  unwatch(ticket: RedisTicket): void {
    if (ticket.shared) {
      this.#shared.delete(ticket.sharedWake, ticket);
      this.#aheadDeadlines.delete(ticket);
      return;
    }
    this.#wake.delete(ticket.wakeChannel, ticket);
    this.#early.delete(ticket);
    this.#aheadDeadlines.delete(ticket);
    this.#unhear(ticket);
  }

  /** Forgets the lingering wake channels (closing the subscriber drops them). */
  close(): void {
    this.#wake.close();
  }

  /**
   * The holder ahead turned out to be one this module does not wake (or
   * not to be): the ticket starts (or stops) hearing the internal channel.
   * Once it hears, it asks again, as that holder may have handed over
   * before.
   */
  async #seeHolder(ticket: RedisTicket, foreign: boolean): Promise<void> {
    if (ticket.foreign === foreign) return;
    ticket.foreign = foreign;
    const heard = this.#internal.has(ticket.keys.internal, ticket);
    await this.#hearIfNeeded(ticket).catch(() => {});
    if (!heard && this.#needsInternal(ticket)) await this.poll(ticket);
  }

  /** Notes when the user right ahead of `ticket` would lose its presence. */
  noteAhead(ticket: RedisTicket, deadline: number): void {
    this.#aheadDeadlines.set(ticket, deadline);
    // The timer may be set for a heartbeat much later than this deadline.
    this.#host.schedule();
  }

  /** The earliest time a presence ahead would run out, or Infinity. */
  aheadDue(): number {
    return earliest(this.#aheadDeadlines.values());
  }

  /** The earliest check due, or Infinity. */
  checkDue(): number {
    return earliest(this.#checks.values());
  }

  /** Takes the waiters whose check is due by `now`. */
  takeDueChecks(now: number): RedisTicket[] {
    const due: RedisTicket[] = [];
    for (const [ticket, at] of this.#checks) {
      if (at > now) continue;
      this.#checks.delete(ticket);
      due.push(ticket);
    }
    return due;
  }

  /** A heartbeat asks every waiter anyway: what was due is forgotten. */
  forgetDue(): void {
    this.#aheadDeadlines.clear();
    this.#checks.clear();
  }

  /** Asks Redis where the ticket stands; grants, redraws or notes the holder. */
  async poll(ticket: RedisTicket): Promise<void> {
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
        const result = await this.#session.run(this.pollStep(ticket));
        lapsed = this.applyPoll(ticket, result, sentAt);
      } while (ticket.recheck && !lapsed);
    } catch (error) {
      // Redis is unreachable: the next heartbeat asks again.
      this.#session.refuse(ticket, error);
    } finally {
      ticket.busy = false;
    }
    if (lapsed) await this.redraw(ticket);
  }

  /** The poll step of a waiting ticket. */
  pollStep(ticket: RedisTicket): Step<RedisPollResult> {
    return ticket.steps.poll(
      this.#session.target(ticket.keys),
      ticket.place,
      ticket.spec.expire,
    );
  }

  /** Applies a poll's result; true when the ticket lapsed and must redraw. */
  applyPoll(
    ticket: RedisTicket,
    result: RedisPollResult,
    sentAt: number,
  ): boolean {
    // Its grant's message may have come first.
    if (ticket.state !== "waiting") return false;
    if (result.verdict === "lapsed") return true;
    if (result.verdict === "granted") {
      this.#host.grant(ticket, result.fence, sentAt);
      return false;
    }
    ticket.validUntil = sentAt + ticket.spec.expire;
    // The queue moved: news, as far as patience goes.
    const ahead = ticket.ahead;
    ticket.seeIndicator(result.indicator);
    if (ticket.ahead !== ahead) {
      ticket.lastNews = Math.max(ticket.lastNews, sentAt);
    }
    if (result.aheadTtl >= 0) {
      this.noteAhead(ticket, sentAt + result.aheadTtl + 1);
    }
    void this.#seeHolder(ticket, result.foreign);
    return false;
  }

  /** A waiter whose presence lapsed draws again at the back of the queue. */
  async redraw(ticket: RedisTicket): Promise<void> {
    if (ticket.state !== "waiting" || ticket.busy) return;
    ticket.busy = true;
    try {
      this.unwatch(ticket);
      ticket.state = "drawing" as TicketState;
      ticket.redraw();
      await this.#host.draw(ticket);
      if (ticket.state === "waiting") {
        await this.watch(ticket).catch(() => {});
      }
    } catch (error) {
      ticket.fail(this.#session.own(error));
    } finally {
      ticket.busy = false;
    }
    if (ticket.state === "waiting") await this.poll(ticket);
  }

  /**
   * A message on a wake channel, for each ticket there; one that has not
   * learned its number yet keeps it (see listen).
   */
  readonly #onWake = (channel: string, payload: string): void => {
    const message = parseWake(payload);
    if (!message) return;
    for (const ticket of this.#wake.on(channel) ?? []) {
      const early = this.#early.get(ticket);
      if (early) early.push(message);
      else this.#heard(ticket, message);
    }
  };

  /**
   * A grant for a waiting ticket's current draw (its number and proof)
   * makes it the holder at once, while its presence is certainly alive (see
   * PROTOCOL.md, "The grant rule"); after that, it asks Redis first. A
   * message for another number, an old draw or a ticket no longer waiting
   * changes nothing.
   */
  #heard(ticket: RedisTicket, message: WakeMessage): void {
    if (ticket.number !== message.n || ticket.state !== "waiting") return;
    if (message.kind === "watch") {
      ticket.lastNews = Date.now();
      void this.#seeHolder(ticket, true);
      return;
    }
    // Its own poll finds it lapsed, and it draws again.
    if (message.kind === "skipped") {
      void this.poll(ticket);
      return;
    }
    if (message.proof !== ticket.proof) return;
    const now = Date.now();
    ticket.lastNews = now;
    if (now > ticket.validUntil) void this.poll(ticket);
    else {
      // Its presence was last refreshed at validUntil - expire; the grant
      // does not move that.
      const refreshed = ticket.validUntil - ticket.spec.expire;
      this.#host.grant(ticket, message.fence, refreshed);
    }
  }

  /**
   * A grant on a shared wake channel names each new holder's ticket key:
   * that ticket asks, and takes its turn (with its fencing token) then.
   */
  readonly #onSharedGrant = (channel: string, payload: string): void => {
    for (const ticket of this.#shared.on(channel) ?? []) {
      if (ticket.sharedGrant(payload) !== ticket.number) continue;
      ticket.lastNews = Date.now();
      void this.poll(ticket);
    }
  };

  /** An announcement on the internal channel: for those that hear it. */
  readonly #onAnnouncement = (channel: string, payload: string): void => {
    const tickets = this.#internal.on(channel);
    if (!tickets || tickets.size === 0) return;
    const keys = tickets.values().next().value!.keys;
    const announced = numberOfPresenceKey(keys, payload);
    if (announced === undefined) return;
    const now = Date.now();
    let front: RedisTicket | undefined;
    for (const ticket of tickets) {
      ticket.lastNews = now;
      ticket.seeIndicator(announced);
      this.#checks.delete(ticket);
      // Its own number, or a later one: it was skipped and must redraw.
      if (ticket.number <= announced) void this.poll(ticket);
      else if (!front || ticket.number < front.number) front = ticket;
    }
    // This Locker's first waiter asks once the grace is over: right behind
    // the announced user, it skips it if it is gone; further back, it learns
    // when the new holder's presence runs out, since the waiters in between
    // may be dead too. The grace lets an alive holder's announcement pass.
    if (front) this.#checks.set(front, now + NEWEST_GRACE_MS);
    this.#host.schedule();
  };
}
