/**
 * The channels a Redis engine's waiters listen on, and the tickets on each.
 * A channel is subscribed while a ticket is there; a Locker's wake channel
 * may also linger after its last ticket has left, so that its next waiter
 * there finds it live: that waiter sends no SUBSCRIBE and needs no poll to
 * cover the time before the subscription (see waiters.ts), and the grant
 * that empties the channel sends no UNSUBSCRIBE. A lingering channel is
 * dropped once idle for a while, when too many linger, and at close.
 *
 * @module
 */

import type { Session } from "./session.ts";
import type { Listener, Subscriber } from "./subscriber.ts";
import type { RedisTicket } from "./ticket.ts";

/** How long channels linger, and how many at most. */
export interface LingerLimits {
  /** A channel left idle this long (ms) is dropped, up to half as late. */
  readonly idleMs: number;
  /** At most this many linger; the least recently left goes first. */
  readonly max: number;
}

/**
 * A test seam, not part of the API (mod.ts does not export it): in the
 * options of a Redis Locker, how its wake channels linger (see
 * {@linkcode LingerLimits}), so that a test sees them dropped without
 * waiting for the defaults.
 *
 * @example
 * ```ts ignore
 * const options = { url, [WAKE_LINGER]: { idleMs: 200, max: 2 } };
 * const locker = new Locker(options);
 * ```
 */
export const WAKE_LINGER: unique symbol = Symbol("turn.wakeLinger");

/**
 * A channel lingers for 30 s: a process taking turns on a resource now and
 * then keeps its one subscription there, while one that waited once on
 * each of many resources drops them soon. A thousand subscriptions cost
 * Redis little and bound what a process that waits on ever new resources
 * keeps.
 */
export const LINGER_DEFAULTS: LingerLimits = { idleMs: 30_000, max: 1_000 };

/** Tickets by the channel they listen on. */
export class Channels {
  readonly #tickets = new Map<string, Set<RedisTicket>>();
  readonly #subscriber: Subscriber;
  readonly #session: Session;
  readonly #listener: Listener;
  readonly #linger: LingerLimits | undefined;
  /**
   * Subscribed channels without a ticket, by when their last one left, the
   * least recently left first.
   */
  readonly #idle = new Map<string, number>();
  /** Sweeps idle channels while any lingers. */
  #sweeper: ReturnType<typeof setInterval> | undefined;
  /** After close, nothing lingers (nor starts the sweeper again). */
  #closed = false;

  /**
   * Channels are shard channels (SSUBSCRIBE) when the session's scripts
   * publish with SPUBLISH; `linger`, if given, keeps them subscribed after
   * their last ticket left.
   */
  constructor(
    subscriber: Subscriber,
    session: Session,
    listener: Listener,
    linger?: LingerLimits,
  ) {
    this.#subscriber = subscriber;
    this.#session = session;
    this.#listener = listener;
    this.#linger = linger;
  }

  /** The tickets on `channel`. */
  on(channel: string): ReadonlySet<RedisTicket> | undefined {
    return this.#tickets.get(channel);
  }

  has(channel: string, ticket: RedisTicket): boolean {
    return this.#tickets.get(channel)?.has(ticket) ?? false;
  }

  /** Adds the ticket; resolves once the channel is subscribed. */
  add(channel: string, ticket: RedisTicket): Promise<void> {
    this.#enter(channel, ticket);
    return this.#session.sharded
      ? this.#subscriber.listenShard(channel, this.#listener)
      : this.#subscriber.listen(channel, this.#listener);
  }

  /**
   * Adds the ticket if `channel` is subscribed already, or being
   * subscribed, and says on which connection it is live (see
   * Subscriber.live); subscribes nothing. Undefined if it is not live.
   */
  join(channel: string, ticket: RedisTicket): number | undefined {
    if (!this.#tickets.has(channel) && !this.#idle.has(channel)) return;
    this.#enter(channel, ticket);
    return this.live(channel);
  }

  /** The connection on which `channel` is live now (see Subscriber.live). */
  live(channel: string): number | undefined {
    return this.#subscriber.live(channel, this.#session.sharded);
  }

  #enter(channel: string, ticket: RedisTicket): void {
    let tickets = this.#tickets.get(channel);
    if (!tickets) {
      this.#tickets.set(channel, tickets = new Set());
      this.#idle.delete(channel);
    }
    tickets.add(ticket);
  }

  /** Takes the ticket off; the channel's last lingers or is dropped. */
  delete(channel: string, ticket: RedisTicket): void {
    const tickets = this.#tickets.get(channel);
    if (!tickets?.delete(ticket) || tickets.size > 0) return;
    this.#tickets.delete(channel);
    if (!this.#linger || this.#closed) return this.#drop(channel);
    this.#idle.set(channel, Date.now());
    if (this.#idle.size > this.#linger.max) {
      this.#drop(this.#idle.keys().next().value!);
    }
    // One timer while any lingers, not one per channel or per turn. It
    // needs no unref: the subscriber's connection, open meanwhile, keeps
    // the process alive anyway, and close() stops it.
    this.#sweeper ??= setInterval(
      () => this.#sweep(),
      this.#linger.idleMs / 2,
    );
  }

  /** Drops the channels idle for long enough; stops once none lingers. */
  #sweep(): void {
    const oldest = Date.now() - this.#linger!.idleMs;
    for (const [channel, since] of this.#idle) {
      if (since > oldest) break;
      this.#drop(channel);
    }
    if (this.#idle.size === 0) this.#stop();
  }

  #drop(channel: string): void {
    this.#idle.delete(channel);
    if (this.#session.sharded) {
      this.#subscriber.unlistenShard(channel, this.#listener);
    } else this.#subscriber.unlisten(channel, this.#listener);
  }

  #stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /** Forgets every lingering channel; the subscriber's close drops them. */
  close(): void {
    this.#closed = true;
    this.#stop();
    this.#idle.clear();
  }
}
