/**
 * Writing to stdout so that a closed pipe is noticed. `console.log` ignores
 * EPIPE, so `turn follow | head -1` would never end; these throw
 * an error with code `EPIPE` instead, and the tool exits quietly.
 *
 * @module
 */

import { writeStdout } from "./platform.ts";

const encoder = new TextEncoder();

/**
 * Writes all of `text` to stdout.
 *
 * @param text The text, newlines included.
 * @throws {Error} With code `EPIPE` When nobody reads stdout any more.
 *
 * @example Usage
 * ```ts
 * import { write } from "./output.ts";
 * write("printer: acquiring\n");
 * ```
 */
export function write(text: string): void {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) {
    done += writeStdout(bytes.subarray(done));
  }
}

// C0 controls but the newline, DEL and C1 controls: what a terminal may act
// on (colours, cursor moves, window titles, a carriage return overwriting
// the line). Names and labels from this module never hold them, but turn 1.0
// clients and anyone with write access to Redis can put them there.
// deno-lint-ignore no-control-regex
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/**
 * Shows control characters (other than newlines) as `\uXXXX` escapes, so
 * data read from Redis is printed, never acted on by the terminal. The
 * escapes are also valid inside JSON strings, so `--json` output stays JSON
 * with the same values.
 *
 * @param text Text that may hold control characters.
 * @returns The text with each control character escaped.
 *
 * @example Usage
 * ```ts
 * import { printable } from "./output.ts";
 * console.log(printable("a\x1b[2Jb")); // a\u001b[2Jb
 * ```
 */
export function printable(text: string): string {
  return text.replace(
    CONTROLS,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Writes `lines` to stdout, each followed by a newline, with control
 * characters escaped (see {@linkcode printable}).
 *
 * @param lines The lines.
 * @throws {Error} With code `EPIPE` When nobody reads stdout any more.
 *
 * @example Usage
 * ```ts
 * import { printLines } from "./output.ts";
 * printLines("printer: acquiring", "printer: locked");
 * ```
 */
export function printLines(...lines: string[]): void {
  write(lines.map((line) => `${printable(line)}\n`).join(""));
}
