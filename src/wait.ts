/**
 * Bounded waiting shared by the engines, and how a call that starts its work
 * at once still fails only by rejecting.
 *
 * @module
 */

import type { WaitLimits } from "./engine.ts";

/** What a wait rejects with when its timeout ran out. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Runs `work` now and gives its promise; what `work` throws rejects it
 * instead, so a caller that starts its work in its own tick still fails
 * only by rejecting.
 */
export function rejecting<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for `promise`; rejects with TIMED_OUT or the signal's reason. It
 * takes the same steps with or without limits, so that waits begun in turn
 * go on in turn.
 */
export async function waitOrGiveUp(
  promise: Promise<void>,
  { timeout, signal }: WaitLimits,
): Promise<void> {
  // An abort event already fired never fires again. Nobody waits for
  // `promise` now, as nobody would once a race with it was lost.
  if (signal?.aborted) {
    promise.catch(() => {});
    throw signal.reason;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    if (timeout !== undefined) {
      timer = setTimeout(() => reject(TIMED_OUT), timeout);
    }
    if (signal) {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    await Promise.race([promise, giveUp]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal!.removeEventListener("abort", onAbort);
  }
}

/** `promise`'s value, or `fallback` if it has not settled within `ms`. */
export async function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
  fallback: T,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
