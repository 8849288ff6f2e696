/**
 * The workload both locks run in the demo: each process asks for the
 * printer, holds it for a moment, pauses briefly and asks again.
 *
 * @module
 */

/** The shared resource. */
export const RESOURCE = "printer";
/** Processes that contend. */
export const WORKERS = 4;
/** Turns each process takes. */
export const TURNS = 4;
/** How long each turn holds the resource. */
export const HOLD_MS = 60;
/** The longest pause between one turn and asking for the next. */
export const PAUSE_MS = 20;
/** How often the polling lock's waiters look again. */
export const POLL_MS = 25;

/** Milliseconds since the epoch, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
