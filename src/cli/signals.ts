/**
 * Ctrl-C (SIGINT) and SIGTERM as events, so commands can end cleanly:
 * release what they hold, print turn 1.0's last words, exit with a code.
 *
 * @module
 */

import { ENDING_SIGNALS, listen, type Signal } from "./platform.ts";

/**
 * The reason an interrupted wait was aborted with.
 *
 * @example Usage
 * ```ts
 * import { Interrupted } from "./signals.ts";
 * console.log(new Interrupted("SIGINT").message); // interrupted by SIGINT
 * ```
 */
export class Interrupted extends Error {
  /** The signal that arrived. */
  readonly signal: Signal;

  /** Creates the reason for `signal`. */
  constructor(signal: Signal) {
    super(`interrupted by ${signal}`);
    this.name = "Interrupted";
    this.signal = signal;
  }
}

/**
 * Calls `handler` on every SIGINT and SIGTERM until disposed. While
 * listening, those signals no longer kill the process.
 *
 * @param handler Called with the signal's name.
 * @returns A handle that stops listening when disposed.
 *
 * @example Usage
 * ```ts
 * import { onEndingSignal } from "./signals.ts";
 * using _listening = onEndingSignal((signal) => console.log(signal));
 * ```
 */
export function onEndingSignal(
  handler: (signal: Signal) => void,
): Disposable {
  const stops = ENDING_SIGNALS.map((signal) =>
    listen(signal, () => handler(signal))
  );
  return {
    [Symbol.dispose]() {
      for (const stop of stops) stop();
    },
  };
}

/**
 * An AbortSignal that aborts with {@linkcode Interrupted} on the first
 * SIGINT or SIGTERM, until disposed.
 *
 * @returns The signal, disposable.
 *
 * @example Usage
 * ```ts
 * import { interruption } from "./signals.ts";
 * using interrupt = interruption();
 * console.log(interrupt.signal.aborted); // false
 * ```
 */
export function interruption(): Disposable & { readonly signal: AbortSignal } {
  const controller = new AbortController();
  const listening = onEndingSignal((signal) => {
    controller.abort(new Interrupted(signal));
  });
  return {
    signal: controller.signal,
    [Symbol.dispose]: () => listening[Symbol.dispose](),
  };
}

/**
 * Resolves once `signal` is aborted (at once if it already is).
 *
 * @param signal The signal to wait for.
 * @returns A promise that never rejects.
 *
 * @example Usage
 * ```ts
 * import { aborted } from "./signals.ts";
 * await aborted(AbortSignal.timeout(1));
 * ```
 */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}
