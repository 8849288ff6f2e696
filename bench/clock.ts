/**
 * One clock for every process of a run: the host's wall clock with
 * sub-microsecond resolution. `Date.now()` is the same clock but rounds to
 * whole milliseconds, which is coarser than a loopback round trip.
 *
 * @module
 */

/** Milliseconds since the epoch, with a fractional part. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
