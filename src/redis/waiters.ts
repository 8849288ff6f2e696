/**
 * The waiters of one Redis engine and what they hear: which tickets wait on
 * which internal channel, the grant announcements that reach them, the
 * checks due soon after one (on the waiter right behind the new holder, and
 * when a holder's presence would run out), and the check itself: a poll,
 * which grants, notes the holder, or has a lapsed waiter draw again.
 *
 * @module
 */

import { newDrawToken, numberOfPresenceKey } from "./keys.ts";
import { NEWEST_GRACE_MS } from "./scripts.ts";
import { poll, type RedisPollResult, type Step } from "./steps.ts";
import type { Session } from "./session.ts";
import type { Subscriber } from "./subscriber.ts";
import type { RedisTicket } from "./ticket.ts";
import type { TicketState } from "../ticket.ts";

/** What the waiters ask of their engine. */
export interface WaitersHost {
  /** A due time has changed: the heartbeat's timer is set again. */
  schedule(): void;
  /** Grants the ticket (see TurnEngine.grant). */
  grant(ticket: RedisTicket, fence: bigint, sentAt: number): void;
  /** Draws a number for the ticket. */
  draw(ticket: RedisTicket): Promise<void>;
}

/** Waiting tickets by internal channel, and the checks due on them. */
export class Waiters {
  readonly #subscriber: Subscriber;
  readonly #session: Session;
  readonly #host: WaitersHost;
  /** Waiting tickets by internal channel, for dispatching announcements. */
  readonly #waiting = new Map<string, Set<RedisTicket>>();
  /** When each resource's holder's presence would expire, by internal channel. */
  readonly #holderDeadlines = new Map<string, number>();
  /** Checks due on tickets right behind an announced number. */
  readonly #checks = new Map<RedisTicket, number>();

  constructor(subscriber: Subscriber, session: Session, host: WaitersHost) {
    this.#subscriber = subscriber;
    this.#session = session;
    this.#host = host;
  }

  /** Listens for the grants of the ticket's resource. */
  async watch(ticket: RedisTicket): Promise<void> {
    const channel = ticket.keys.internal;
    let tickets = this.#waiting.get(channel);
    if (!tickets) this.#waiting.set(channel, tickets = new Set());
    tickets.add(ticket);
    await (this.#session.publish === "SPUBLISH"
      ? this.#subscriber.listenShard(channel, this.#onAnnouncement)
      : this.#subscriber.listen(channel, this.#onAnnouncement));
  }

  /** Stops listening for the ticket; the last one on a channel leaves it. */
  unwatch(ticket: RedisTicket): void {
    const channel = ticket.keys.internal;
    const tickets = this.#waiting.get(channel);
    this.#checks.delete(ticket);
    if (!tickets?.delete(ticket)) return;
    if (tickets.size > 0) return;
    this.#waiting.delete(channel);
    this.#holderDeadlines.delete(channel);
    if (this.#session.publish === "SPUBLISH") {
      this.#subscriber.unlistenShard(channel, this.#onAnnouncement);
    } else this.#subscriber.unlisten(channel, this.#onAnnouncement);
  }

  /** Notes when the holder ahead of `ticket` would lose its presence. */
  noteHolder(ticket: RedisTicket, deadline: number): void {
    this.#holderDeadlines.set(ticket.keys.internal, deadline);
    // The timer may be set for a heartbeat much later than this deadline.
    this.#host.schedule();
  }

  /** The earliest time a holder's presence would run out, or Infinity. */
  holderDue(): number {
    return Math.min(Infinity, ...this.#holderDeadlines.values());
  }

  /** The earliest check due, or Infinity. */
  checkDue(): number {
    return Math.min(Infinity, ...this.#checks.values());
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
    this.#holderDeadlines.clear();
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
    return poll(
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
    if (result.verdict === "lapsed") return true;
    if (result.verdict === "granted") {
      this.#host.grant(ticket, result.fence, sentAt);
      return false;
    }
    ticket.validUntil = sentAt + ticket.spec.expire;
    ticket.seeIndicator(result.indicator);
    if (result.holderTtl >= 0) {
      this.noteHolder(ticket, sentAt + result.holderTtl + 1);
    }
    return false;
  }

  /** A waiter whose presence lapsed draws again at the back of the queue. */
  async redraw(ticket: RedisTicket): Promise<void> {
    if (ticket.state !== "waiting" || ticket.busy) return;
    ticket.busy = true;
    try {
      this.unwatch(ticket);
      ticket.state = "drawing" as TicketState;
      ticket.token = newDrawToken();
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

  readonly #onAnnouncement = (channel: string, payload: string): void => {
    const tickets = this.#waiting.get(channel);
    if (!tickets || tickets.size === 0) return;
    const keys = tickets.values().next().value!.keys;
    const announced = numberOfPresenceKey(keys, payload);
    if (announced === undefined) return;
    const now = Date.now();
    // The old holder's deadline says nothing about the new one.
    this.#holderDeadlines.delete(channel);
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
