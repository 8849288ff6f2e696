/**
 * What a `turn` user sees when a command fails: one line, no stack trace,
 * and an exit code that says what kind of failure it was.
 *
 * @module
 */

import { ConnectionError, LeaseLostError, TimeoutError } from "../../../mod.ts";
import { Interrupted } from "../signals.ts";
import { CliError, ExitCode } from "../errors.ts";

const TURN_ERRORS = [
  [ConnectionError, ExitCode.Connection],
  [TimeoutError, ExitCode.Timeout],
  [LeaseLostError, ExitCode.LeaseLost],
] as const;

/** How the tool reports an error: a line for stderr (if any) and the code. */
export interface ErrorReport {
  /** One line, without a stack trace; absent when silence is right. */
  readonly message?: string;
  /** The process exit code. */
  readonly exitCode: number;
}

/**
 * Decides what the user sees for `error` and how the process exits.
 *
 * @param error Anything thrown by a command.
 * @returns The one-line message and the exit code.
 *
 * @example Usage
 * ```ts
 * import { describeError } from "./error_report.ts";
 * import { UsageError } from "../errors.ts";
 * console.log(describeError(new UsageError("bad port: got 0")));
 * // { message: "bad port: got 0", exitCode: 2 }
 * ```
 */
export function describeError(error: unknown): ErrorReport {
  // `await using` wraps a failure to clean up (e.g. to release a turn on a
  // Redis that is gone) around the error that ended the block: that one is
  // what happened.
  if (isSuppressedError(error)) return describeError(error.suppressed);
  if (error instanceof Interrupted) return { exitCode: ExitCode.Interrupted };
  if ((error as { code?: unknown } | null)?.code === "EPIPE") {
    return { exitCode: ExitCode.StdoutClosed };
  }
  const exitCode = error instanceof CliError
    ? error.exitCode
    : TURN_ERRORS.find(([type]) => error instanceof type)?.[1] ??
      ExitCode.Failure;
  const text = error instanceof Error ? error.message : String(error);
  const line = text.replace(/\s*\n\s*/g, " ").trim();
  return { message: line + hint(error), exitCode };
}

// By name, not class: Node 20 has no SuppressedError, and the npm build's
// `await using` makes its own.
function isSuppressedError(error: unknown): error is { suppressed: unknown } {
  return error instanceof Error && error.name === "SuppressedError" &&
    "suppressed" in error;
}

function hint(error: unknown): string {
  return error instanceof ConnectionError && /certificate/i.test(error.message)
    ? " (for a private CA, pass --tls-ca /path/to/ca.pem or set DENO_CERT=/path/to/ca.pem)"
    : "";
}

/**
 * Prints `error` for the user (one line on stderr, if any) and returns the
 * exit code it means.
 *
 * @param error Anything thrown by a command.
 * @returns The exit code.
 *
 * @example Usage
 * ```ts
 * import { reportError } from "./error_report.ts";
 * console.log(reportError(new Error("boom"))); // prints "turn: boom", then 1
 * ```
 */
export function reportError(error: unknown): number {
  const { message, exitCode } = describeError(error);
  if (message !== undefined) console.error(`turn: ${message}`);
  return exitCode;
}
