/**
 * A ticket on Redis: besides its place, the token of its draw and what the
 * heartbeat knows of its presence there.
 *
 * @module
 */

import { Ticket } from "../ticket.ts";
import {
  newDrawToken,
  numberOfPresenceKey,
  type ResourceKeys,
} from "./keys.ts";
import { numberOfTicketKey, sharedKeysOf } from "./shared_keys.ts";
import type { Place } from "./steps.ts";
import { stepsFor, type TicketSteps } from "./ticket_steps.ts";

/** A user's place in a queue on Redis. */
export class RedisTicket extends Ticket<ResourceKeys> {
  /**
   * The token of the current draw, unique to it. It stays the same until a
   * draw is answered, so a draw sent again draws nothing new; a ticket that
   * lapsed and draws again takes a new one.
   */
  token: string = newDrawToken();
  /** Until when the presence is certainly alive (send time of the last refresh + expire). */
  validUntil = 0;
  /** When the queue last showed a sign of life (for patience). */
  lastNews = 0;
  /** Whether its wait has a timeout, so its draw waits for Redis within it. */
  bounded = false;

  /** The steps of the ticket's kind of turn (plain or shared). */
  readonly steps: TicketSteps = stepsFor(this.spec.mode);
  /** The channel its grants are announced on. */
  readonly channel: string = this.spec.mode
    ? sharedKeysOf(this.handle).wake
    : this.handle.internal;

  /** The key and channel names of the ticket's resource. */
  get keys(): ResourceKeys {
    return this.handle;
  }

  /** Whether the ticket is for a shared turn. */
  get shared(): boolean {
    return this.spec.mode !== undefined;
  }

  /** The number an announcement on its channel names, if any. */
  announced(payload: string): number | undefined {
    return this.spec.mode
      ? numberOfTicketKey(sharedKeysOf(this.handle), payload)
      : numberOfPresenceKey(this.handle, payload);
  }

  /** Its own place, for the steps about it. */
  get place(): Place {
    return { n: this.number, label: this.spec.label, token: this.token };
  }

  /**
   * Loses the lease if no heartbeat has reached Redis within `expire`: the
   * presence may have lapsed and the turn moved on, whether or not a timer
   * has had the chance to notice.
   */
  checkLease(now: number = Date.now()): void {
    if (this.state === "held" && now > this.validUntil) this.loseUnheard();
  }

  /** Loses the lease: no heartbeat reached Redis within `expire`. */
  loseUnheard(): void {
    this.lose(
      `no heartbeat reached Redis within expire (${this.spec.expire} ms)`,
    );
  }
}
