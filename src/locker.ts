/**
 * The Locker: take turns on shared resources, first come first served.
 *
 * @module
 */

import { hostname } from "node:os";
import process from "node:process";
import { openEngine } from "./backend.ts";
import { instrument } from "./telemetry.ts";
import type { Lock } from "./lock.ts";
import type { Follow } from "./follow.ts";
import {
  lockAll,
  type LockAllOptions,
  type LockSet,
  tryLockAll,
  whileHeld,
} from "./lock_set.ts";
import type { Engine, WaitLimits } from "./engine.ts";
import { rejecting } from "./wait.ts";
import {
  checkDuration,
  checkLabel,
  checkResource,
  checkResources,
} from "./validate.ts";
import type {
  FollowOptions,
  LockerOptions,
  LockOptions,
  ResetOptions,
  ResetResult,
  ResourceStatus,
} from "./types.ts";
import type { TicketSpec } from "./ticket.ts";
import { guardCallback } from "./callbacks.ts";
import { sharedMode } from "./turn_mode.ts";

/** Presence TTL when none is given: turn 1.0's 60 s. */
export const DEFAULT_EXPIRE = 60_000;
/** Patience when none is given: turn 1.0's 60 s. */
export const DEFAULT_PATIENCE = 60_000;
/** The shortest presence TTL accepted. */
export const MIN_EXPIRE = 100;

let processLabel: string | undefined;

// Asked once per process: it does not change, and each ask is a system call.
function defaultLabel(): string {
  if (processLabel !== undefined) return processLabel;
  let host = "localhost";
  try {
    host = hostname();
  } catch { /* no permission to read the host name */ }
  return processLabel = `${host}:${process.pid}`;
}

interface CheckedLockOptions {
  readonly spec: TicketSpec;
  readonly limits: WaitLimits;
}

function checkLockOptions(options: LockOptions): CheckedLockOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object: got ${options}`);
  }
  const { label, expire, patience, timeout, signal, onQueue } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal: got ${signal}`);
  }
  if (onQueue !== undefined && typeof onQueue !== "function") {
    throw new TypeError(`onQueue must be a function: got ${onQueue}`);
  }
  return {
    spec: {
      label: label === undefined ? defaultLabel() : checkLabel(label),
      expire: expire === undefined
        ? DEFAULT_EXPIRE
        : checkDuration("expire", expire, MIN_EXPIRE),
      patience: patience === undefined
        ? DEFAULT_PATIENCE
        : checkDuration("patience", patience),
      onQueue: onQueue && guardCallback("onQueue", onQueue),
      mode: sharedMode(options),
    },
    limits: {
      timeout: timeout === undefined
        ? undefined
        : checkDuration("timeout", timeout),
      signal,
    },
  };
}

/**
 * Takes turns on named resources with other programs, on this host or
 * others, through Redis: first come, first served, woken by pub/sub, and
 * safe against crashed users. Speaks turn 1.0's wire protocol, so Python
 * programs using turn 1.0 take turns with it. With a `file:` URL, it does
 * the same for programs on one host through the file system, with no
 * server.
 *
 * @example One turn at a time
 * ```ts
 * import { Locker } from "./locker.ts";
 * await using locker = new Locker(); // TURN_URL, TURN_REDIS_URL, REDIS_URL or localhost
 * await locker.withLock("printer", async (lock) => {
 *   console.log(`printing as number ${lock.number}`);
 * });
 * ```
 */
export class Locker implements AsyncDisposable {
  readonly #engine: Engine;

  /**
   * Creates a Locker. Nothing is connected until first use. With no
   * connection options, `TURN_URL` (a `redis://` or `file://` URL), then
   * `TURN_REDIS_URL`, then `REDIS_URL`, then `redis://localhost:6379/0` is
   * used. `{ url: "file:///var/lock/turn" }` selects the file backend.
   */
  constructor(options: LockerOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`options must be an object: got ${options}`);
    }
    if (options.connectTimeout !== undefined) {
      checkDuration("connectTimeout", options.connectTimeout);
    }
    this.#engine = instrument(
      () => openEngine(options),
      options.metricResource,
    );
  }

  /**
   * Waits for the turn on `resource` and returns it held. Rejects with a
   * TimeoutError after `timeout`, or with the signal's reason when
   * `signal` aborts; either way the user has left the queue.
   */
  lock(resource: string, options: LockOptions = {}): Promise<Lock> {
    // Bad input rejects, as every failure of a lock does.
    return rejecting(() => {
      const { spec, limits } = checkLockOptions(options);
      return this.#engine.acquire(checkResource(resource), spec, limits);
    });
  }

  /**
   * Takes the turn only if nobody holds or waits for `resource`; otherwise
   * returns `null` without taking a number.
   */
  tryLock(
    resource: string,
    options: Omit<LockOptions, "timeout" | "signal" | "onQueue"> = {},
  ): Promise<Lock | null> {
    return rejecting(() => {
      const { spec, limits } = checkLockOptions(options);
      return this.#engine.tryAcquire(checkResource(resource), spec, limits);
    });
  }

  /**
   * Runs `fn` with the turn on `resource` held and returns its result. If
   * `fn` throws, the turn is announced as crashed and handed on at once, and
   * the error is rethrown. If the lease was lost before `fn` settled, its
   * result was not had alone: rejects with the LeaseLostError.
   */
  async withLock<T>(
    resource: string,
    fn: (lock: Lock) => T | Promise<T>,
    options: LockOptions = {},
  ): Promise<T> {
    if (typeof fn !== "function") {
      throw new TypeError(`fn must be a function: got ${fn}`);
    }
    const lock = await this.lock(resource, options);
    return await whileHeld(lock, () => fn(lock));
  }

  /**
   * Waits for the turn on every resource, one at a time in sorted order (so
   * two programs locking overlapping sets never wait on each other in a
   * cycle). `timeout` bounds the whole set. If one wait fails, the turns
   * already held are released and the error is rethrown.
   */
  async lockAll(
    resources: readonly string[],
    options: LockAllOptions = {},
  ): Promise<LockSet> {
    const names = checkResources(resources);
    checkLockOptions({ ...options, onQueue: undefined });
    // A bad name fails the set before any of its turns is taken.
    await this.#engine.checkNames(names);
    return await lockAll((r, o) => this.lock(r, o), names, options);
  }

  /**
   * Takes the turn on every resource only if none of them is busy now;
   * otherwise holds nothing and returns `null`.
   */
  async tryLockAll(
    resources: readonly string[],
    options: Omit<LockOptions, "timeout" | "signal" | "onQueue"> = {},
  ): Promise<LockSet | null> {
    const names = checkResources(resources);
    checkLockOptions(options);
    await this.#engine.checkNames(names);
    return await tryLockAll((r, o) => this.tryLock(r, o), names, options);
  }

  /**
   * The queues of `resources` that exist, in the order given; with no
   * names, of every resource in the database, sorted by name.
   */
  async status(resources?: readonly string[]): Promise<ResourceStatus[]> {
    const names = resources === undefined
      ? await this.#engine.resources()
      : checkResources(resources);
    return await this.#engine.status(names);
  }

  /**
   * Follows the messages of `resources`, parsed into events; with no
   * names, of every resource, including ones created later. Await
   * `.ready` to know the subscription is active.
   */
  follow(resources?: readonly string[], options: FollowOptions = {}): Follow {
    const names = resources === undefined
      ? undefined
      : checkResources(resources);
    return this.#engine.follow(names, options.signal);
  }

  /**
   * turn 1.0's reset tool: bumps past users that are gone, and deletes the
   * queue's keys if nobody remains. With no names, every resource.
   * With `forget`, a resource left with no queue also loses its fencing
   * token, the one key an idle resource keeps: its tokens start again, so
   * only forget a resource whose guarded stores forget it too.
   *
   * @example Forgetting a resource for good
   * ```ts
   * import { Locker } from "./locker.ts";
   * await using locker = new Locker();
   * await locker.reset(["retired-printer"], { forget: true });
   * ```
   */
  async reset(
    resources?: readonly string[],
    options: ResetOptions = {},
  ): Promise<ResetResult[]> {
    const names = resources === undefined
      ? await this.#engine.resources()
      : checkResources(resources);
    const { forget = false } = options;
    if (typeof forget !== "boolean") {
      throw new TypeError(
        `forget must be true or false: got ${JSON.stringify(forget)}`,
      );
    }
    return await this.#engine.reset(names, forget);
  }

  /** Releases held turns, leaves queues, and closes owned connections. */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
