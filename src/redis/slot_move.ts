/**
 * Waiting out a Redis Cluster slot move. While a resource's slot is being
 * moved to another master, the scripts answer `TRYAGAIN` and change nothing
 * (see PROTOCOL.md), so a call can always be tried again; this module owns
 * how long it is.
 *
 * @module
 */

import { delay } from "../wait.ts";

/**
 * How long a call keeps trying while its resource's slot is being moved,
 * from its first try. ioredis's own retries (`maxRedirections`) add at most
 * one round, about 1 s; they do not set the bound, this does.
 */
export const SLOT_MOVE_WAIT_MS = 10_000;
/** Pauses between tries start here and double. */
const FIRST_PAUSE_MS = 50;
/** The longest pause: how late a call may notice that the move ended. */
const LONGEST_PAUSE_MS = 250;

/**
 * Whether `error` says the call's slot is being moved: Redis's `TRYAGAIN`
 * (or the scripts' own, while the slot is split), or ioredis giving up
 * after its redirections. Either way the command did not run.
 */
export function isSlotMoving(error: unknown): boolean {
  return error instanceof Error &&
    /^TRYAGAIN|^Too many Cluster redirections/.test(error.message);
}

/**
 * A `keepTrying` for {@linkcode whileSlotMoves}: true for `ms` from `since`
 * (by default, now).
 */
export function forMs(
  ms: number = SLOT_MOVE_WAIT_MS,
  since: number = Date.now(),
): () => boolean {
  const until = since + ms;
  return () => Date.now() < until;
}

/**
 * `run()`'s result; while it fails because the slot is moving, it is run
 * again after a pause, as long as `keepTrying()` says so.
 */
export async function whileSlotMoves<T>(
  run: () => Promise<T>,
  keepTrying: () => boolean = forMs(),
): Promise<T> {
  for (let pause = FIRST_PAUSE_MS;; pause *= 2) {
    try {
      return await run();
    } catch (error) {
      if (!isSlotMoving(error) || !keepTrying()) throw error;
    }
    await delay(Math.min(pause, LONGEST_PAUSE_MS));
  }
}
