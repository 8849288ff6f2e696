/**
 * Stops the command of `turn run` when its turn is lost, or before it can
 * be: SIGTERM, then SIGKILL after a grace, so that the command is dead
 * before anyone else can be granted.
 *
 * On Redis, a turn passes on only once its presence has lapsed, and the
 * presence certainly lives until `lock.validUntil` (the last renewal that
 * reached Redis, plus `expire`). When renewals stop reaching Redis, the
 * command gets SIGTERM at `validUntil - margin - grace` and SIGKILL at
 * `validUntil - margin`, before the presence can lapse. Renewals go out
 * every third of `expire`, so the grace is at most a third of `expire`, and
 * a healthy turn never comes near.
 *
 * @module
 */

import { LeaseLostError, type LockSet } from "../../../mod.ts";
import { formatDuration } from "../flags/duration.ts";
import type { Child } from "../platform.ts";

/** How to stop the command. */
export interface StopPolicy {
  /** Milliseconds from SIGTERM to SIGKILL (`--kill-after`). */
  readonly killAfter: number;
  /** The presence TTL the turns were taken with. */
  readonly expire: number;
}

/** Stops a command as its turn ends; dispose once the command has exited. */
export interface Stopper extends Disposable {
  /** Why the command was stopped, if it was. */
  readonly reason: unknown;
}

// Time for SIGKILL to take effect before the presence can lapse (at most a
// tenth of expire): a loaded machine runs timers late.
const MARGIN_MS = 1_000;

/**
 * Watches the turns of `set` while `child` runs, and stops it when one
 * is lost or its presence comes within `grace + margin` of lapsing.
 * Disposing stops watching; if the command was stopped, whatever it left
 * running in its group gets SIGKILL then, without waiting for the grace.
 *
 * @param child The running command.
 * @param set Its turns.
 * @param policy The grace and the presence TTL.
 * @returns The stopper.
 *
 * @example Usage
 * ```ts ignore
 * import { stopOnLoss } from "./stop.ts";
 * using stopper = stopOnLoss(child, set, { killAfter: 5_000, expire: 60_000 });
 * const code = await child.exitCode;
 * if (stopper.reason !== undefined) throw stopper.reason;
 * ```
 */
export function stopOnLoss(
  child: Child,
  set: LockSet,
  policy: StopPolicy,
): Stopper {
  const margin = Math.min(MARGIN_MS, policy.expire / 10);
  const grace = Math.min(policy.killAfter, policy.expire / 3);
  let reason: unknown;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let checkTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = (why: unknown, killAt: number) => {
    if (reason !== undefined) return;
    reason = why;
    clearTimeout(checkTimer);
    child.kill("SIGTERM");
    const delay = Math.max(0, killAt - Date.now());
    killTimer = setTimeout(() => child.kill("SIGKILL"), delay);
  };
  const firstToLapse = () =>
    set.locks.reduce((a, b) => b.validUntil < a.validUntil ? b : a);
  // A lost turn's presence may still be there until it lapses: the kill
  // comes before that too.
  const onLost = () =>
    stop(
      set.signal.reason,
      Math.min(
        Date.now() + policy.killAfter,
        firstToLapse().validUntil - margin,
      ),
    );
  const checkDeadline = () => {
    const lock = firstToLapse();
    const until = lock.validUntil;
    if (!Number.isFinite(until)) return;
    const termAt = until - margin - grace;
    if (Date.now() < termAt) {
      checkTimer = setTimeout(checkDeadline, termAt - Date.now());
      return;
    }
    const silent = formatDuration(Date.now() - (until - policy.expire));
    const why =
      `no renewal reached Redis for ${silent}; the command was stopped before its presence could lapse`;
    stop(new LeaseLostError(lock.resource, lock.number, why), until - margin);
  };
  if (set.signal.aborted) onLost();
  else {
    set.signal.addEventListener("abort", onLost, { once: true });
    if (set.locks.length > 0) checkDeadline();
  }
  return {
    get reason() {
      return reason;
    },
    [Symbol.dispose]() {
      set.signal.removeEventListener("abort", onLost);
      clearTimeout(checkTimer);
      clearTimeout(killTimer);
      if (reason !== undefined) child.kill("SIGKILL");
    },
  };
}
