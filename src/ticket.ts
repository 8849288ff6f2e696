/**
 * One user's place in one resource's queue, from drawing a number to leaving,
 * the same for every backend: it carries the resource's name and the
 * backend's own handle on it (Redis its key names, the file backend its
 * paths), computed once when the ticket is made.
 *
 * @module
 */

import { deferred } from "./deferred.ts";
import type { SharedMode } from "./turn_mode.ts";
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
  /** A shared turn's kind and capacity; absent for a plain turn. */
  readonly mode?: SharedMode;
}

/** A user's place in a queue. Owned and driven by the engine. */
export class Ticket<H = unknown> {
  readonly resource: string;
  /** The backend's own handle on the resource: its keys, its paths. */
  readonly handle: H;
  readonly spec: TicketSpec;
  /** The number drawn; 0 until drawn. */
  number = 0;
  /** The fencing token of the grant; 0n until granted. */
  fence = 0n;
  state: TicketState = "drawing";
  /** A look at the queue for this ticket is under way; `recheck` asks for one more. */
  busy = false;
  recheck = false;
  /** The latest draw, settled or in flight. */
  drawing: Promise<void> | undefined;
  #ahead = -1;
  readonly #granted = deferred<void>();
  #onGrant: (() => void) | undefined;
  /** Made when first asked for: most leases are never watched nor lost. */
  #lease: AbortController | undefined;

  constructor(resource: string, handle: H, spec: TicketSpec) {
    this.resource = resource;
    this.handle = handle;
    this.spec = spec;
    this.#granted.promise.catch(() => {});
  }

  /** Settles when the turn is this ticket's, or the wait failed. */
  get granted(): Promise<void> {
    return this.#granted.promise;
  }

  /** Aborts when the lease is lost. */
  get leaseSignal(): AbortSignal {
    return (this.#lease ??= new AbortController()).signal;
  }

  /** Whether the lease is lost; makes no signal to tell. */
  get lost(): boolean {
    return this.#lease?.signal.aborted ?? false;
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

  /** Has `then` run as the ticket is granted, in the grant's own tick. */
  whenGranted(then: () => void): void {
    this.#onGrant = then;
  }

  /** Marks the turn as this ticket's. */
  grant(): void {
    this.state = "held";
    this.#ahead = 0;
    this.#granted.resolve();
    this.#onGrant?.();
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
      this.resource,
      this.number,
      this.spec.label,
      () => this.leaseSignal,
      end,
      check,
      lease,
    );
  }

  /** Ends the wait with an error. */
  fail(reason: unknown): void {
    this.#granted.reject(reason);
  }

  /** Aborts the lease signal, once. */
  lose(why: string): void {
    if (this.lost) return;
    this.#lease ??= new AbortController();
    this.#lease.abort(new LeaseLostError(this.resource, this.number, why));
  }
}
