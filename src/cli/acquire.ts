/**
 * Holding several resources in one process. Every `turn` acquires in sorted
 * order, so two tools locking overlapping sets never wait on each other in a
 * cycle.
 *
 * @module
 */

import type { Locker, LockSet } from "../../mod.ts";
import type { TurnOptions } from "./turn_flags.ts";

/** What to tell the user as the resources are taken and given back. */
export interface AcquireReport {
  /** About to wait for `resource`. */
  acquiring?(resource: string): void;
  /** `ahead` users are now ahead in `resource`'s queue. */
  waiting?(resource: string, ahead: number): void;
  /** `resource` is held. */
  locked?(resource: string): void;
  /** Gave up waiting for `resource` (interrupted, timed out, failed). */
  canceled?(resource: string): void;
  /** `resource` was given back. */
  released?(resource: string): void;
}

/**
 * Tells the user on stderr (stdout is for turn 1.0's messages or the
 * command's output) how many users are ahead.
 *
 * @param resource The resource waited for.
 * @param ahead Users ahead.
 *
 * @example Usage
 * ```ts
 * import { showWaiting } from "./acquire.ts";
 * showWaiting("printer", 2); // printer: waiting, 2 ahead
 * ```
 */
export function showWaiting(resource: string, ahead: number): void {
  console.error(`${resource}: waiting, ${ahead} ahead`);
}

/** How to take each resource. */
export interface AcquireOptions extends TurnOptions {
  /** Aborting gives up waiting. */
  readonly signal: AbortSignal;
}

/** Resources held together; disposing releases them in reverse order. */
export interface Holding extends AsyncDisposable {
  /** Aborts with the lock's reason when any of the turns is lost. */
  readonly lost: AbortSignal;
}

/**
 * Takes the turn on every resource, one at a time in sorted order (the
 * Locker's `lockAll`), telling the user as it goes. If one cannot be taken,
 * releases those already held and rethrows.
 *
 * @param locker Where to take the turns.
 * @param resources The names, in any order, duplicates ignored.
 * @param options Label, timeout and cancellation.
 * @param report Progress callbacks.
 * @returns The held resources.
 *
 * @example Usage
 * ```ts ignore
 * import { acquireSorted } from "./acquire.ts";
 * await using _held = await acquireSorted(locker, ["b", "a"], {
 *   label: "backup",
 *   signal: AbortSignal.timeout(60_000),
 * });
 * ```
 */
export async function acquireSorted(
  locker: Locker,
  resources: readonly string[],
  options: AcquireOptions,
  report: AcquireReport = {},
): Promise<Holding> {
  let current: string | undefined;
  let shown: number | undefined;
  const taken: string[] = [];
  let set: LockSet;
  try {
    set = await locker.lockAll(resources, {
      ...options,
      onAcquiring(resource) {
        current = resource;
        shown = undefined;
        report.acquiring?.(resource);
      },
      onQueue(resource, ahead) {
        if (ahead === shown || ahead === 0) return;
        shown = ahead;
        report.waiting?.(resource, ahead);
      },
      onLocked(lock) {
        current = undefined;
        taken.push(lock.resource);
        report.locked?.(lock.resource);
      },
    });
  } catch (error) {
    if (current !== undefined) report.canceled?.(current);
    // lockAll has given back what it held, last taken first.
    for (const resource of taken.toReversed()) report.released?.(resource);
    throw error;
  }
  const release = async () => {
    for (const lock of set.locks.toReversed()) {
      await lock.release();
      report.released?.(lock.resource);
    }
  };
  return { lost: set.signal, [Symbol.asyncDispose]: release };
}
