/**
 * Durations on the command line: `500ms`, `30s`, `2m`, `1h`, `1m30s`.
 *
 * A bare number is refused rather than guessed: `--timeout 30` could mean 30
 * milliseconds or 30 seconds, and guessing wrong is silent.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/**
 * Parses a duration such as `500ms`, `30s`, `2m`, `1h` or `1m30s` into whole
 * milliseconds (rounded).
 *
 * @param text The duration as typed.
 * @param name What the duration is for, used in the error message.
 * @returns The duration in milliseconds.
 * @throws {UsageError} If the text is not a duration, e.g. a bare number.
 *
 * @example Usage
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(parseDuration("1m30s"), 90_000);
 * ```
 */
export function parseDuration(text: string, name = "duration"): number {
  if (!WHOLE.test(text)) {
    throw new UsageError(
      `${name} must be a number with a unit (ms, s, m, h), such as 500ms, 30s or 1m30s: got "${text}"`,
    );
  }
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    ms += Number(amount) * UNIT_MS[unit];
  }
  return Math.round(ms);
}

/**
 * Formats milliseconds for people, to the whole second: `0s`, `12s`,
 * `3m05s`, `2h07m`.
 *
 * @param ms A non-negative number of milliseconds.
 * @returns The short form.
 *
 * @example Usage
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(formatDuration(185_000), "3m05s");
 * ```
 */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1_000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${twoDigits(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h${twoDigits(minutes % 60)}m`;
}

function twoDigits(n: number): string {
  return String(n).padStart(2, "0");
}
