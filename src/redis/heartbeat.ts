/**
 * The heartbeat of one Redis engine: a single timer that, every
 * `expire / 3` (the shortest of its tickets), renews holders, polls waiters,
 * bumps for waiters out of patience and skips newest numbers left without
 * presence (follow-ups), all in one round trip; and, between beats, runs the
 * checks due after an announcement and loses leases that ran out locally.
 *
 * @module
 */

import type { ResourceKeys } from "./keys.ts";
import { NEWEST_GRACE_MS } from "./scripts.ts";
import { bump, runGroups, type Step } from "./steps.ts";
import type { Session } from "./session.ts";
import type { RedisTicket } from "./ticket.ts";
import type { Waiters } from "./waiters.ts";
import { delay } from "../wait.ts";

/** What the heartbeat asks of its engine. */
export interface HeartbeatHost {
  readonly tickets: ReadonlySet<RedisTicket>;
  readonly waiters: Waiters;
  readonly session: Session;
  closed(): boolean;
  /** Reopens the subscriber if it dropped. */
  reopen(): void;
}

/** A newest number left without presence, to skip after a grace period. */
interface FollowUp {
  readonly keys: ResourceKeys;
  readonly skip: number;
}

/** How often a user with this `expire` must be renewed: three times an expire. */
function intervalOf(expire: number): number {
  return expire / 3;
}

/** When a held ticket's lease runs out locally: just after `validUntil`. */
function leaseEnd(ticket: RedisTicket): number {
  return ticket.validUntil + 1;
}

/** One engine's heartbeat timer. */
export class Heartbeat {
  readonly #host: HeartbeatHost;
  /** Newest numbers left without presence, by dispenser key. */
  readonly #followUps = new Map<string, FollowUp>();
  #followUpDue = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires, on the monotonic clock (`performance.now()`). */
  #timerAt = Infinity;
  #lastBeat = 0;
  /** No ticket and no follow-up: the heartbeat clock is stopped. */
  #idle = true;
  #beating = false;

  constructor(host: HeartbeatHost) {
    this.#host = host;
  }

  /** Whether a beat is under way. */
  get beating(): boolean {
    return this.#beating;
  }

  /** Skips a newest number without presence once it had its grace period. */
  followUp(keys: ResourceKeys, skip: number): void {
    this.#followUps.set(keys.dispenser, { keys, skip });
    this.#followUpDue = Date.now() + NEWEST_GRACE_MS;
    this.schedule();
  }

  #beatInterval(): number {
    let shortest = Infinity;
    for (const ticket of this.#host.tickets) {
      shortest = Math.min(shortest, ticket.spec.expire);
    }
    return intervalOf(shortest);
  }

  /**
   * When the next heartbeat is due: every `expire / 3`, or sooner for a
   * waiter out of patience, a presence ahead of a waiter about to run out, or a
   * follow-up. Deadlines a finished beat already handled lie before
   * `#lastBeat` and do not count, so a failing beat cannot spin.
   */
  #beatDue(): number {
    let due = this.#lastBeat + this.#beatInterval();
    for (const ticket of this.#host.tickets) {
      const bumpAt = ticket.lastNews + ticket.spec.patience;
      if (ticket.state === "waiting" && bumpAt > this.#lastBeat) {
        due = Math.min(due, bumpAt);
      }
    }
    due = Math.min(due, this.#host.waiters.aheadDue());
    if (this.#followUps.size > 0) due = Math.min(due, this.#followUpDue);
    return due;
  }

  /** When a held lease that is not lost yet runs out locally. */
  #leaseDue(): number {
    let due = Infinity;
    for (const ticket of this.#host.tickets) {
      if (ticket.state === "held" && !ticket.lost) {
        due = Math.min(due, leaseEnd(ticket));
      }
    }
    return due;
  }

  #nextDue(): number {
    // A beat under way reschedules when it ends; meanwhile only leases count.
    if (this.#beating) return this.#leaseDue();
    const due = Math.min(this.#leaseDue(), this.#beatDue());
    return Math.min(due, this.#host.waiters.checkDue());
  }

  /** Sets the timer for what is due next, or stops it when nothing is. */
  schedule(): void {
    if (this.#host.closed()) return this.stop();
    if (this.#host.tickets.size === 0 && this.#followUps.size === 0) {
      this.#idle = true;
      return this.stop();
    }
    // A draw has just refreshed the presence: the first beat is due one
    // interval from now, not at once.
    if (this.#idle) this.#lastBeat = Date.now();
    this.#idle = false;
    const wait = Math.min(
      Math.max(0, this.#nextDue() - Date.now()),
      2 ** 31 - 1,
    );
    const at = performance.now() + wait;
    // A timer set for no later stays: its tick schedules again, so firing
    // early costs one look, and each lock and release sets no new timer.
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#tick(), wait);
  }

  /**
   * A ticket was granted: the timer must fire by its first renewal, one of
   * its intervals after the last beat (one granted by its draw was never
   * counted as a waiter, and its `expire` may be the shortest), and by the
   * time its lease runs out locally: the deadlines a grant adds (it only
   * takes a waiter's away). A timer set for no later already does, and
   * nothing else is looked at again.
   */
  scheduleHeld(ticket: RedisTicket): void {
    const renewal = this.#lastBeat + intervalOf(ticket.spec.expire);
    const due = Math.min(renewal, leaseEnd(ticket));
    const at = performance.now() + (due - Date.now());
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.schedule();
  }

  /** Stops the timer. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.#timer = undefined;
    const now = Date.now();
    for (const ticket of this.#host.tickets) ticket.checkLease(now);
    // A beat under way reschedules everything when it ends.
    if (!this.#beating) {
      if (this.#beatDue() <= now) void this.beat(now);
      else this.#runDueChecks(now);
    }
    this.schedule();
  }

  /** Polls just the waiters whose check after an announcement is due. */
  #runDueChecks(now: number): void {
    const { waiters } = this.#host;
    for (const ticket of waiters.takeDueChecks(now)) void waiters.poll(ticket);
  }

  /** One round trip: renews holders, polls waiters, bumps and follows up. */
  async beat(now: number): Promise<void> {
    const host = this.#host;
    const { waiters } = host;
    this.#beating = true;
    host.reopen();
    this.#lastBeat = now;
    waiters.forgetDue();
    const followUps = this.#dueFollowUps(now);
    const polled = [...host.tickets].filter((t) =>
      t.state === "waiting" && !t.busy
    );
    const held = [...host.tickets].filter((t) => t.state === "held" && !t.lost);
    const bumpers = polled.filter((t) =>
      t.steps.bumps && now - t.lastNews >= t.spec.patience
    );
    for (const ticket of polled) ticket.busy = true;
    const groups = {
      polls: polled.map((t) => waiters.pollStep(t)),
      renewals: held.map((t) =>
        t.steps.renew(host.session.target(t.keys), t.place, t.spec.expire)
      ),
      bumps: [
        ...bumpers.map((t) => bump(host.session.target(t.keys), 0, t.number)),
        ...this.#bumpsOf(followUps),
      ],
    };
    try {
      const results = await runGroups(host.session.client, groups);
      polled.forEach((ticket, index) => {
        ticket.busy = false;
        const result = results.polls[index];
        if (!result.ok && host.session.refuse(ticket, result.error)) return;
        if (result.ok && waiters.applyPoll(ticket, result.value, now)) {
          void waiters.redraw(ticket);
        } else if (ticket.recheck) void waiters.poll(ticket);
      });
      held.forEach((ticket, index) => {
        const result = results.renewals[index];
        if (result.ok) this.#applyRenew(ticket, result.value, now);
      });
      for (const ticket of bumpers) ticket.lastNews = now;
    } catch {
      // Redis is unreachable: leases run out locally, the next beat retries.
    } finally {
      for (const ticket of polled) ticket.busy = false;
      this.#beating = false;
      this.schedule();
    }
  }

  #applyRenew(ticket: RedisTicket, held: boolean, sentAt: number): void {
    if (!held) {
      return ticket.lose("its presence expired or the indicator moved on");
    }
    // A renewal sent after the lease ran out cannot bring it back.
    if (sentAt > ticket.validUntil) return ticket.loseUnheard();
    ticket.validUntil = sentAt + ticket.spec.expire;
  }

  #bumpsOf(followUps: readonly FollowUp[]): Step<number>[] {
    return followUps.map(({ keys, skip }) =>
      bump(this.#host.session.target(keys), skip, 0)
    );
  }

  /** Runs pending follow-ups once due, so a closing Locker leaves no keys. */
  async flushFollowUps(): Promise<void> {
    if (this.#followUps.size === 0) return;
    await delay(Math.max(0, this.#followUpDue - Date.now()));
    const bumps = this.#bumpsOf(this.#dueFollowUps(Date.now()));
    await runGroups(this.#host.session.client, { bumps }).catch(() => {});
  }

  #dueFollowUps(now: number): FollowUp[] {
    if (this.#followUps.size === 0 || now < this.#followUpDue) return [];
    const due = [...this.#followUps.values()];
    this.#followUps.clear();
    return due;
  }
}
