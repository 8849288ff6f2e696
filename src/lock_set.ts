/**
 * Holding several resources at once. Every program takes overlapping sets in
 * the same (sorted) order, so two holders can never wait on each other in a
 * cycle.
 *
 * @module
 */

import type { Lock, ReleaseOutcome } from "./lock.ts";
import type { LockOptions } from "./types.ts";
import { TimeoutError } from "./errors.ts";
import { settleWithin } from "./wait.ts";

/**
 * Options of `locker.lockAll()`: those of `lock()`, with `timeout` bounding
 * the whole set, and hooks that name the resource they are about.
 *
 * @example
 * ```ts
 * import type { LockAllOptions } from "./lock_set.ts";
 * const options: LockAllOptions = {
 *   timeout: 30_000,
 *   onQueue: (resource, ahead) => console.log(`${resource}: ${ahead} ahead`),
 * };
 * ```
 */
export interface LockAllOptions extends Omit<LockOptions, "onQueue"> {
  /** Called with the tickets ahead on `resource` whenever that changes. */
  readonly onQueue?: (resource: string, ahead: number) => void;
  /** Called just before waiting for each resource, in the order taken. */
  readonly onAcquiring?: (resource: string) => void;
  /** Called as each resource's turn is taken. */
  readonly onLocked?: (lock: Lock) => void;
}

/**
 * The turns held on a set of resources, released together, last taken first.
 *
 * @example Holding two resources
 * ```ts
 * import { Locker } from "./locker.ts";
 * await using locker = new Locker();
 * await using both = await locker.lockAll(["scanner", "printer"]);
 * console.log(both.locks.map((lock) => lock.resource)); // [ "printer", "scanner" ]
 * ```
 */
export class LockSet implements AsyncDisposable {
  /** The locks, in the order they were taken. */
  readonly locks: readonly Lock[];
  readonly #signal: AbortSignal;
  #released: Promise<void> | undefined;

  /** Made by the Locker; not for direct use. */
  constructor(locks: readonly Lock[]) {
    this.locks = locks;
    this.#signal = locks.length === 1
      ? locks[0].signal
      : AbortSignal.any(locks.map((lock) => lock.signal));
  }

  /**
   * Aborts, with that lock's reason, when any of the leases is lost.
   * Reading it checks every lease's deadline first, as `lock.signal` does.
   */
  get signal(): AbortSignal {
    // Reading a lock's signal checks its deadline; the set's signal follows.
    for (const lock of this.locks) lock.signal.aborted;
    return this.#signal;
  }

  /**
   * Releases every lock, last taken first; `"crashed"` announces that the
   * work failed. Idempotent.
   */
  release(outcome?: ReleaseOutcome): Promise<void> {
    return this.#released ??= releaseAll(this.locks, outcome);
  }

  /** Same as `release()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/** Deduplicated resources in the one order every holder takes them in. */
export function lockOrder(resources: readonly string[]): string[] {
  return [...new Set(resources)].sort();
}

type LockOne = (resource: string, options: LockOptions) => Promise<Lock>;
type TryOne = (resource: string, options: LockOptions) => Promise<Lock | null>;

/**
 * Waits for the turn on every resource, in {@linkcode lockOrder}. If one wait
 * fails, the turns already held are released (see {@linkcode giveBack}) and
 * the error is rethrown.
 */
export async function lockAll(
  lock: LockOne,
  resources: readonly string[],
  options: LockAllOptions,
): Promise<LockSet> {
  const { onQueue, onAcquiring, onLocked, timeout, ...common } = options;
  const deadline = timeout === undefined ? undefined : Date.now() + timeout;
  const locks: Lock[] = [];
  try {
    for (const resource of lockOrder(resources)) {
      onAcquiring?.(resource);
      const held = await lock(resource, {
        ...common,
        timeout: remaining(deadline),
        onQueue: onQueue && ((ahead) => onQueue(resource, ahead)),
      });
      locks.push(held);
      onLocked?.(held);
    }
  } catch (error) {
    await giveBack(locks);
    // Name the budget the caller gave, not what was left of it.
    if (error instanceof TimeoutError && timeout !== undefined) {
      const { resource, ahead, unreachable } = error;
      throw new TimeoutError(resource, ahead, timeout, unreachable);
    }
    throw error;
  }
  return new LockSet(locks);
}

/**
 * Takes the turn on every resource only if none of them is busy now;
 * otherwise holds nothing and returns `null`.
 */
export async function tryLockAll(
  tryLock: TryOne,
  resources: readonly string[],
  options: LockOptions,
): Promise<LockSet | null> {
  const locks: Lock[] = [];
  try {
    for (const resource of lockOrder(resources)) {
      const held = await tryLock(resource, options);
      if (!held) {
        await releaseAll(locks);
        return null;
      }
      locks.push(held);
    }
  } catch (error) {
    await releaseAll(locks);
    throw error;
  }
  return new LockSet(locks);
}

/** How long a failed lockAll waits for the turns it held to be given back. */
const GIVE_BACK_WAIT_MS = 250;

/**
 * Releases what a failed lockAll held. A timeout or an abort must not wait
 * for a server that is paused or away: past a short wait the releases go
 * on in the background (closing the Locker waits for them), and what went
 * wrong with them never hides the error that ended the wait.
 */
async function giveBack(locks: readonly Lock[]): Promise<void> {
  const released = releaseAll(locks).catch(() => {});
  await settleWithin(released, GIVE_BACK_WAIT_MS, undefined);
}

function remaining(deadline: number | undefined): number | undefined {
  // Never 0: past the deadline the next wait still has to fail by timing out.
  return deadline === undefined
    ? undefined
    : Math.max(1, deadline - Date.now());
}

async function releaseAll(
  locks: readonly Lock[],
  outcome?: ReleaseOutcome,
): Promise<void> {
  const errors: unknown[] = [];
  for (const lock of locks.toReversed()) {
    await lock.release(outcome).catch((error) => errors.push(error));
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new AggregateError(
      errors,
      `${errors.length} turns failed to release`,
    );
  }
}

/** What {@linkcode whileHeld} needs of a held `Lock` or `LockSet`. */
export interface Held {
  /** Aborts, with a LeaseLostError, when a lease is lost. */
  readonly signal: AbortSignal;
  /** Ends the turn(s); `"crashed"` announces that the work failed. */
  release(outcome?: ReleaseOutcome): Promise<void>;
}

/** Options of {@linkcode whileHeld}. */
export interface WhileHeldOptions {
  /**
   * Takes what went wrong after `fn` succeeded (the lease was lost, or the
   * release failed), and `fn`'s result is returned: for callers that must
   * not report done work as failed. Without it, the call rejects with it.
   */
  readonly onLate?: (error: unknown) => void;
}

/**
 * Runs `fn` while `held` is held, then releases it. If `fn` throws, the
 * turn is released as crashed and `fn`'s error rethrown, whatever the
 * release meets. If a lease was lost before `fn` settled, its result was not
 * had alone: the LeaseLostError is the error, and a failed release does not
 * replace it.
 */
export async function whileHeld<T>(
  held: Held,
  fn: () => T | Promise<T>,
  options: WhileHeldOptions = {},
): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await held.release("crashed").catch(() => {});
    throw error;
  }
  const late = await releaseAfterWork(held);
  if (late === undefined) return result;
  if (!options.onLate) throw late.error;
  options.onLate(late.error);
  return result;
}

/** Releases `held` after its work succeeded: what went wrong, if anything. */
async function releaseAfterWork(
  held: Held,
): Promise<{ readonly error: unknown } | undefined> {
  // Reading the signal checks the leases' deadlines before the release.
  const { signal } = held;
  try {
    await held.release();
  } catch (error) {
    if (!signal.aborted) return { error };
  }
  return signal.aborted ? { error: signal.reason } : undefined;
}
