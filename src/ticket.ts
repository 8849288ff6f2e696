/**
 * One user's place in one resource's queue, from drawing a number to leaving.
 *
 * @module
 */

import { newDrawToken, type ResourceKeys } from "./redis/keys.ts";
import { deferred } from "./deferred.ts";
import { LeaseLostError } from "./errors.ts";
import { type LeaseInfo, Lock, type ReleaseOutcome } from "./lock.ts";

/** Where a ticket stands. */
export type TicketState = "drawing" | "waiting" | "held" | "leaving" | "gone";

/** The settings a ticket is drawn with. */
export interface TicketSpec {
  readonly label: string;
  readonly expire: number;
  readonly patience: number;
  readonly onQueue?: (ahead: number) => void;
}

/** A user's place in a queue. Owned and driven by the engine. */
export class Ticket {
  readonly keys: ResourceKeys;
  readonly spec: TicketSpec;
  /** The number drawn; 0 until drawn. */
  number = 0;
  /** The fencing token of the grant; 0n until granted. */
  fence = 0n;
  /**
   * The token of the current draw, unique to it. It stays the same until a
   * draw is answered, so a draw sent again draws nothing new; a ticket that
   * lapsed and draws again takes a new one.
   */
  token: string = newDrawToken();
  state: TicketState = "drawing";
  /** Until when the presence is certainly alive (send time of the last refresh + expire). */
  validUntil = 0;
  /** When the queue last showed a sign of life (for patience). */
  lastNews = 0;
  /** A script for this ticket is in flight; `recheck` asks for one more. */
  busy = false;
  recheck = false;
  /** The latest draw, settled or in flight. */
  drawing: Promise<void> | undefined;
  #ahead = -1;
  readonly #granted = deferred<void>();
  readonly #lease = new AbortController();

  constructor(keys: ResourceKeys, spec: TicketSpec) {
    this.keys = keys;
    this.spec = spec;
    this.#granted.promise.catch(() => {});
  }

  /** Settles when the turn is this ticket's, or the wait failed. */
  get granted(): Promise<void> {
    return this.#granted.promise;
  }

  /** Aborts when the lease is lost. */
  get leaseSignal(): AbortSignal {
    return this.#lease.signal;
  }

  /** Tickets ahead as last seen, or -1 if never seen. */
  get ahead(): number {
    return this.#ahead;
  }

  /** Records the number that has the turn now. */
  seeIndicator(indicator: number): void {
    const ahead = Math.max(0, this.number - indicator);
    if (ahead === this.#ahead) return;
    this.#ahead = ahead;
    this.spec.onQueue?.(ahead);
  }

  /** Marks the turn as this ticket's. */
  grant(sentAt: number): void {
    this.state = "held";
    this.validUntil = sentAt + this.spec.expire;
    this.#ahead = 0;
    this.#granted.resolve();
  }

  /**
   * The Lock handed to the user of this granted ticket. `check`, if given,
   * runs before each read of `lock.signal` (a time-bound lease checks that
   * it has not run out); `lease` is what the backend tells of the lease.
   */
  lock(
    end: (outcome: ReleaseOutcome) => Promise<void>,
    check?: () => void,
    lease?: LeaseInfo,
  ): Lock {
    return new Lock(
      this.keys.resource,
      this.number,
      this.spec.label,
      this.leaseSignal,
      end,
      check,
      lease,
    );
  }

  /** Ends the wait with an error. */
  fail(reason: unknown): void {
    this.#granted.reject(reason);
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

  /** Aborts the lease signal, once. */
  lose(why: string): void {
    if (this.#lease.signal.aborted) return;
    this.#lease.abort(new LeaseLostError(this.keys.resource, this.number, why));
  }
}
