/**
 * A ticket on Redis: besides its place, the token of its draw and what the
 * heartbeat knows of its presence there.
 *
 * @module
 */

import type { ConnectionError } from "../errors.ts";
import { Ticket, type TicketSpec } from "../ticket.ts";
import {
  grantProof,
  newDrawToken,
  type ResourceKeys,
  wakeChannel,
} from "./keys.ts";
import { numberOfTicketKey, sharedKeysOf } from "./shared_keys.ts";
import type { Place } from "./steps.ts";
import { stepsFor, type TicketSteps } from "./ticket_steps.ts";

/** A user's place in a queue on Redis. */
export class RedisTicket extends Ticket<ResourceKeys> {
  /** Its Locker's wake id, which begins its draw tokens. */
  readonly wakeId: string;
  /**
   * The token of the current draw, unique to it. It stays the same until a
   * draw is answered, so a draw sent again draws nothing new; a ticket that
   * lapsed and draws again takes a new one (`redraw`).
   */
  token: string;
  /**
   * The last draw or poll found a holder this module does not wake (a turn
   * 1.0 client), or a wake message said so: the ticket also listens on the
   * internal channel, where such a holder hands over.
   */
  foreign = false;
  #proof: [string, string] | undefined;
  /** Until when the presence is certainly alive (send time of the last refresh + expire). */
  validUntil = 0;
  /** When the queue last showed a sign of life (for patience). */
  lastNews = 0;
  /** Whether its wait has a timeout, so its draw waits for Redis within it. */
  bounded = false;
  /** On a Cluster, `host:port` of the master that granted the turn. */
  master: string | undefined;
  /** Why the last draw failed while Redis was away, until one succeeds. */
  away: ConnectionError | undefined;

  constructor(
    resource: string,
    keys: ResourceKeys,
    spec: TicketSpec,
    wakeId: string,
  ) {
    super(resource, keys, spec);
    this.wakeId = wakeId;
    this.token = newDrawToken(wakeId);
  }

  /** Takes a new draw token, for drawing again after a lapse. */
  redraw(): void {
    this.token = newDrawToken(this.wakeId);
  }

  /** What a wake message granting the current draw carries (see keys.ts). */
  get proof(): string {
    if (this.#proof?.[0] !== this.token) {
      this.#proof = [this.token, grantProof(this.token)];
    }
    return this.#proof[1];
  }

  /** The steps of the ticket's kind of turn (plain or shared). */
  readonly steps: TicketSteps = stepsFor(this.spec.mode);

  /** The key and channel names of the ticket's resource. */
  get keys(): ResourceKeys {
    return this.handle;
  }

  #wakeChannel: string | undefined;

  /** Its Locker's wake channel on the ticket's resource. */
  get wakeChannel(): string {
    return this.#wakeChannel ??= wakeChannel(this.keys, this.wakeId);
  }

  /** Whether the ticket is for a shared turn. */
  get shared(): boolean {
    return this.spec.mode !== undefined;
  }

  /** A shared ticket's wake channel: every grant of its resource. */
  get sharedWake(): string {
    return sharedKeysOf(this.handle).wake;
  }

  /** The number a message on its shared wake channel grants, if any. */
  sharedGrant(payload: string): number | undefined {
    return numberOfTicketKey(sharedKeysOf(this.handle), payload);
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
