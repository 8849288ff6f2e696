/**
 * Option and result types of the Locker.
 *
 * @module
 */

import type { EventKind } from "./messages.ts";
import type {
  ConnectionOptions,
  IoredisClient,
  ServerAddress,
} from "./redis/options.ts";

export type { ConnectionOptions, EventKind, IoredisClient, ServerAddress };

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
