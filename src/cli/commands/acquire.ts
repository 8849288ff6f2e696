/**
 * Holding several resources in one process. Every `turn` acquires in sorted
 * order, so two tools locking overlapping sets never wait on each other in a
 * cycle.
 *
 * @module
 */

import {
  type Locker,
  type LockSet,
  type ReleaseOutcome,
  TimeoutError,
} from "../../../mod.ts";
import { CliError } from "../errors.ts";
import type { TurnOptions } from "../flags/turn.ts";

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

/**
 * Takes the turn on every resource, one at a time in sorted order (the
 * Locker's `lockAll`), telling the user as it goes; with `nonblock`, all of
 * them at once or none (`tryLockAll`). If one cannot be taken, releases
 * those already held and rethrows. A timeout or a busy resource becomes a
 * CliError with `conflictExitCode`, stating `--timeout` as typed.
 *
 * @param locker Where to take the turns.
 * @param resources The names, in any order, duplicates ignored.
 * @param options Label, timeout and cancellation.
 * @param report Progress callbacks.
 * @returns The held turns: give them back with {@linkcode releasing}.
 *
 * @example Usage
 * ```ts ignore
 * import { acquireSorted } from "./acquire.ts";
 * const set = await acquireSorted(locker, ["b", "a"], {
 *   label: "backup",
 *   nonblock: false,
 *   conflictExitCode: 75,
 *   quiet: false,
 *   signal: AbortSignal.timeout(60_000),
 * });
 * ```
 */
export async function acquireSorted(
  locker: Locker,
  resources: readonly string[],
  options: AcquireOptions,
  report: AcquireReport = {},
): Promise<LockSet> {
  return options.nonblock
    ? await tryAll(locker, resources, options, report)
    : await lockAll(locker, resources, options, report);
}

/**
 * Gives `set` back when disposed (the LockSet's release: last taken
 * first), then reports each resource as released. Once a turn is lost,
 * failing to release the others (e.g. Redis is gone) is not reported: the
 * loss is what the user hears about.
 *
 * @param set The turns taken by {@linkcode acquireSorted}.
 * @param report Where `released` goes.
 * @param outcome How the turns end, asked as they are given back:
 * `"completed"` unless it says `"crashed"`.
 * @returns What releases them, for `await using`.
 *
 * @example Usage
 * ```ts ignore
 * import { acquireSorted, releasing } from "./acquire.ts";
 * const set = await acquireSorted(locker, ["printer"], options);
 * await using _release = releasing(set);
 * ```
 */
export function releasing(
  set: LockSet,
  report: AcquireReport = {},
  outcome: () => ReleaseOutcome = () => "completed",
): AsyncDisposable {
  return {
    async [Symbol.asyncDispose]() {
      try {
        await set.release(outcome());
      } catch (error) {
        if (!set.signal.aborted) throw error;
      }
      for (const lock of set.locks.toReversed()) {
        report.released?.(lock.resource);
      }
    },
  };
}

function turnSettings(
  { label, expire, capacity, shared }: AcquireOptions,
): { label: string; expire?: number; capacity?: number; shared?: boolean } {
  return {
    label,
    ...(expire === undefined ? {} : { expire }),
    ...(capacity === undefined ? {} : { capacity }),
    ...(shared === undefined ? {} : { shared }),
  };
}

async function tryAll(
  locker: Locker,
  resources: readonly string[],
  options: AcquireOptions,
  report: AcquireReport,
): Promise<LockSet> {
  const set = await locker.tryLockAll(resources, turnSettings(options));
  if (set === null) {
    const names = resources.map((name) => JSON.stringify(name)).join(", ");
    throw new CliError(
      `--nonblock: the turn is not free now (someone holds or waits) on one of ${names}`,
      options.conflictExitCode,
    );
  }
  for (const lock of set.locks) report.locked?.(lock.resource);
  return set;
}

async function lockAll(
  locker: Locker,
  resources: readonly string[],
  options: AcquireOptions,
  report: AcquireReport,
): Promise<LockSet> {
  let current: string | undefined;
  const shown = new Set<string>();
  const taken: string[] = [];
  try {
    return await locker.lockAll(resources, {
      ...turnSettings(options),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      signal: options.signal,
      onAcquiring(resource) {
        current = resource;
        report.acquiring?.(resource);
      },
      onQueue(resource, ahead) {
        // Only news, and never the same line twice.
        const line = `${resource}\n${ahead}`;
        if (ahead === 0 || options.quiet || shown.has(line)) return;
        shown.add(line);
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
    if (error instanceof TimeoutError) {
      throw new CliError(
        `timed out after ${options.timeoutText} waiting for ${
          JSON.stringify(error.resource)
        }: ${error.why}`,
        options.conflictExitCode,
      );
    }
    throw error;
  }
}
