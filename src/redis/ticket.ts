/**
 * A ticket on Redis: besides its place, the token of its draw and what the
 * heartbeat knows of its presence there.
 *
 * @module
 */

import type { ConnectionError } from "../errors.ts";
import { Ticket } from "../ticket.ts";
import { newDrawToken, type ResourceKeys } from "./keys.ts";
import type { Place } from "./steps.ts";

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
  /** On a Cluster, `host:port` of the master that granted the turn. */
  master: string | undefined;
  /** Why the last draw failed while Redis was away, until one succeeds. */
  away: ConnectionError | undefined;

  /** The key and channel names of the ticket's resource. */
  get keys(): ResourceKeys {
    return this.handle;
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
    if (this.state === "held" && now > this.validUntil) {
      this.lose(
        `no heartbeat reached Redis within expire (${this.spec.expire} ms)`,
      );
    }
  }
}
