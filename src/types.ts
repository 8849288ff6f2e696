/**
 * Option and result types of the Locker.
 *
 * @module
 */

import type { EventKind } from "./messages.ts";
import type { TurnKind } from "./grant_rule.ts";

export type { EventKind, TurnKind };

/**
 * An ioredis `Redis` or `Cluster` client, described by the little this
 * module's public types need, so that they do not expose ioredis' own types.
 * With a `Cluster`, keys carry a hash tag and grants use sharded pub/sub.
 *
 * @example Lending the Locker an existing client
 * ```ts
 * import { Redis } from "ioredis";
 * import { Locker } from "./locker.ts";
 * const redis = new Redis(Deno.env.get("TURN_REDIS_URL") ?? "redis://localhost:6379/0");
 * const locker = new Locker({ redis }); // never closes `redis`
 * await locker.close();
 * redis.disconnect();
 * ```
 */
export interface IoredisClient {
  /** The client's connection options. */
  readonly options: object;
  /** `true` for an ioredis `Cluster`. */
  readonly isCluster?: boolean;
  /** Makes a second connection with the same options. */
  duplicate(): unknown;
}

/**
 * Where one server listens: a Redis Sentinel to ask where the master is, or a
 * Redis Cluster node to learn the cluster from.
 *
 * @example
 * ```ts
 * import type { ServerAddress } from "./types.ts";
 * const sentinel: ServerAddress = { host: "sentinel-1.internal", port: 26379 };
 * ```
 */
export interface ServerAddress {
  /** The server's host name or address. */
  readonly host: string;
  /** The server's port (Sentinel's default is 26379). */
  readonly port: number;
}

/**
 * How to reach Redis. With none of these, the environment decides.
 *
 * @example turn 1.0's connection words
 * ```ts
 * import type { ConnectionOptions } from "./types.ts";
 * const options: ConnectionOptions = { host: "redis.internal", port: 6380, db: 2 };
 * ```
 */
export interface ConnectionOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS, or
   * `file:///dir` for the file backend (one host, no server).
   */
  readonly url?: string;
  /** Host name (turn 1.0's `--host`). Default `localhost`. */
  readonly host?: string;
  /** Port (turn 1.0's `--port`). Default 6379. */
  readonly port?: number;
  /** Database number (turn 1.0's `--db`). Default 0. */
  readonly db?: number;
  /** Password (turn 1.0's `--password`). */
  readonly password?: string;
  /** ACL user name. */
  readonly username?: string;
  /** Connect with TLS: `true`, or Node TLS options. */
  readonly tls?: boolean | Record<string, unknown>;
  /**
   * An existing ioredis client to borrow. It is never closed by the Locker;
   * the Locker duplicates it for pub/sub.
   */
  readonly redis?: IoredisClient;
  /** How long to wait for a connection before giving up. Default 5000 ms. */
  readonly connectTimeout?: number;
  /**
   * Redis Sentinels to ask for the master named `name` (ioredis' sentinel
   * options). `password`, `username`, `db` and `tls` apply to the master.
   */
  readonly sentinels?: readonly ServerAddress[];
  /** The master group name the sentinels monitor (with `sentinels`). */
  readonly name?: string;
  /**
   * Redis Cluster nodes to learn the cluster from (a few masters are
   * enough). The Locker then opens and owns an ioredis `Cluster`;
   * `password`, `username` and `tls` apply to every node.
   */
  readonly cluster?: readonly ServerAddress[];
}

/**
 * Options of `new Locker(options)`.
 *
 * @example
 * ```ts
 * import type { LockerOptions } from "./types.ts";
 * const options: LockerOptions = { url: "redis://cache.internal:6379/2" };
 * ```
 */
export interface LockerOptions extends ConnectionOptions {
  /**
   * Wrap resource names in `{}` in key names so each resource's keys share
   * one Redis Cluster slot. On by itself (and required) with `cluster`, or
   * when `redis` is an ioredis `Cluster`. Turn 1.0 clients cannot see such
   * queues.
   */
  readonly hashTag?: boolean;
  /**
   * Maps a resource to the `turn.resource` attribute of the OpenTelemetry
   * metrics, or to `undefined` to leave it off. Default: no resource on
   * metrics, since names are unbounded (spans always carry it). Return a
   * small set of values, e.g. `(r) => r.split(":")[0]`.
   */
  readonly metricResource?: (resource: string) => string | undefined;
}

/**
 * Options of `locker.lock()`, `tryLock()` and `withLock()`.
 *
 * @example
 * ```ts
 * import type { LockOptions } from "./types.ts";
 * const options: LockOptions = { label: "nightly report", timeout: 30_000 };
 * ```
 */
export interface LockOptions {
  /** Shown by `status` and in messages. Default `"<hostname>:<pid>"`. */
  readonly label?: string;
  /**
   * Presence TTL in ms, kept alive while waiting or holding. Default 60 000.
   * Not used by the file backend, whose presence lasts as long as the process.
   */
  readonly expire?: number;
  /**
   * Bump the queue after this long without news, in ms. Default 60 000. Not
   * used by the file backend, which has no announcements to miss.
   */
  readonly patience?: number;
  /** Give up waiting after this long, in ms: rejects with a TimeoutError. */
  readonly timeout?: number;
  /** Cancels the wait: rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Called with the number of tickets ahead whenever it is known to change
   * (after drawing and at each handoff). Tickets of users who left but have
   * not been skipped yet count too. If it throws (or its promise rejects),
   * the error is written to the console and the wait goes on.
   */
  readonly onQueue?: (ahead: number) => void;
  /**
   * Shared turns: at most this many holders at once (a whole number, at
   * least 1), granted in ticket order. Every user of the resource must ask
   * for the same capacity while it has users. `capacity: 1` alone is a plain
   * turn. See `shared`.
   */
  readonly capacity?: number;
  /**
   * Shared turns: `true` holds beside other shared users (a reader; up to
   * `capacity`, if set); `false` holds alone among them (a writer). Either
   * way the turn is a shared turn, which plain turns (and turn 1.0) never
   * share a resource with.
   */
  readonly shared?: boolean;
}

/**
 * One user in a resource's queue.
 *
 * @example
 * ```ts
 * import type { UserStatus } from "./types.ts";
 * const user: UserStatus = { number: 7, label: "report 42", ttl: 59_000 };
 * ```
 */
export interface UserStatus {
  /** The user's number. */
  readonly number: number;
  /** The user's label. */
  readonly label: string;
  /**
   * Milliseconds until the user's presence expires (-1: no expiry, as always
   * on the file backend).
   */
  readonly ttl: number;
  /** Shared turns: how the user holds or waits to hold. */
  readonly kind?: TurnKind;
  /** Whether the user holds the resource now. */
  readonly holding?: boolean;
}

/**
 * What a shared resource's status adds: its capacity and places.
 *
 * @example
 * ```ts
 * import type { PlacesStatus } from "./types.ts";
 * const places: PlacesStatus = { capacity: 3, holders: 2, placesLeft: 1 };
 * ```
 */
export interface PlacesStatus {
  /** Most shared holders at once; `null` for no limit. */
  readonly capacity: number | null;
  /** Users holding now. */
  readonly holders: number;
  /**
   * Shared holders that could join now: `capacity - holders` (`null`: no
   * limit), 0 while an exclusive user holds.
   */
  readonly placesLeft: number | null;
}

/**
 * The queue of one resource, as `locker.status()` reports it.
 *
 * @example
 * ```ts
 * import type { ResourceStatus } from "./types.ts";
 * const idle: ResourceStatus = {
 *   resource: "printer",
 *   indicator: 3,
 *   dispenser: 2,
 *   size: 0,
 *   users: [],
 *   fence: 41n,
 * };
 * ```
 */
export interface ResourceStatus {
  /** The resource's name. */
  readonly resource: string;
  /** The number whose turn it is. */
  readonly indicator: number;
  /** The last number handed out. */
  readonly dispenser: number;
  /** `dispenser - indicator + 1`: tickets in the queue (turn 1.0's queue size). */
  readonly size: number;
  /** Live users, holder first, in number order. */
  readonly users: readonly UserStatus[];
  /** Shared turns only: the capacity and the places left. */
  readonly places?: PlacesStatus;
  /**
   * The last fencing token issued on the resource (`0n` if none ever was):
   * the holder's `lock.fence` once it has taken its turn. Between a release
   * and the next holder taking its turn, and while a turn 1.0 client holds
   * it (1.0 clients issue no tokens), it is an earlier holder's token.
   */
  readonly fence: bigint;
}

/**
 * Options of `locker.reset()`.
 *
 * @example
 * ```ts
 * import type { ResetOptions } from "./types.ts";
 * const options: ResetOptions = { forget: true };
 * ```
 */
export interface ResetOptions {
  /**
   * Also delete the fencing token of each resource left with no queue, so
   * its tokens start again. Default `false`.
   */
  readonly forget?: boolean;
}

/**
 * What `locker.reset()` did to one resource.
 *
 * @example
 * ```ts
 * import type { ResetResult } from "./types.ts";
 * const result: ResetResult = { resource: "printer", outcome: "reset", users: 0 };
 * ```
 */
export interface ResetResult {
  /** The resource's name. */
  readonly resource: string;
  /** `missing`: no queue; `in-use`: users remain; `reset`: keys removed. */
  readonly outcome: "missing" | "in-use" | "reset";
  /** Live users that remain (for `in-use`). */
  readonly users: number;
}

/**
 * One event from `locker.follow()`: a parsed message of the external channel.
 *
 * @example
 * ```ts
 * import type { TurnEvent } from "./types.ts";
 * const event: TurnEvent = {
 *   resource: "printer",
 *   kind: "started",
 *   number: 7,
 *   time: Date.now(),
 *   message: "printer: 7 started",
 * };
 * ```
 */
export interface TurnEvent {
  /** The resource the message is about. */
  readonly resource: string;
  /** What happened; `other` for a message this protocol does not define. */
  readonly kind: EventKind | "other";
  /** The user's number, where the message names one. */
  readonly number?: number;
  /** The user's label, where the message names one. */
  readonly label?: string;
  /**
   * The fencing token of the grant, on `started` events of this module's
   * clients (turn 1.0 clients publish none).
   */
  readonly fence?: bigint;
  /** When the message arrived, in ms since the epoch. */
  readonly time: number;
  /** The message as published, e.g. `printer: 7 started`. */
  readonly message: string;
}

/**
 * Options of `locker.follow()`.
 *
 * @example
 * ```ts
 * import type { FollowOptions } from "./types.ts";
 * const options: FollowOptions = { signal: AbortSignal.timeout(60_000) };
 * ```
 */
export interface FollowOptions {
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
}
