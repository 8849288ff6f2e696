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

/**
 * Writes `lines` to stdout, each followed by a newline.
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
  write(lines.map((line) => `${line}\n`).join(""));
}
