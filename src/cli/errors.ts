/**
 * Errors and exit codes of the `turn` command line tool.
 *
 * @module
 */

/**
 * Exit codes of the `turn` command. `turn run` otherwise exits with its
 * command's own code (128 + signal number if a signal ended the command).
 *
 * @example Usage
 * ```ts
 * import { ExitCode } from "./errors.ts";
 * console.log(ExitCode.Timeout); // 75
 * ```
 */
export const ExitCode = {
  /** Everything went as asked. */
  Ok: 0,
  /** An unexpected failure. */
  Failure: 1,
  /** Bad command line: unknown command or flag; bad duration, port, URL, name or label. */
  Usage: 2,
  /** Redis could not be reached (sysexits EX_UNAVAILABLE). */
  Connection: 69,
  /** The turn was lost while it was held: its presence lapsed. */
  LeaseLost: 70,
  /** `--timeout` passed before the turn came (sysexits EX_TEMPFAIL). */
  Timeout: 75,
  /** `turn run`: the command exists but cannot be executed. */
  CannotExecute: 126,
  /** `turn run`: the command was not found. */
  CommandNotFound: 127,
  /** Ctrl-C (SIGINT) or SIGTERM while still waiting for a turn. */
  Interrupted: 130,
  /** Stdout was closed by its reader (e.g. `turn follow | head -1`), as SIGPIPE would. */
  StdoutClosed: 141,
} as const;

/**
 * A failure the tool reports as one line on stderr, exiting with `exitCode`.
 *
 * @example Usage
 * ```ts
 * import { CliError, ExitCode } from "./errors.ts";
 * const error = new CliError("disk full: got 0 bytes free", ExitCode.Failure);
 * console.log(error.exitCode); // 1
 * ```
 */
export class CliError extends Error {
  /** The process exit code. */
  readonly exitCode: number;

  /** Creates the error; `message` states the rule and the offending value. */
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/**
 * A mistake on the command line: unknown command or flag, bad duration or
 * port. Exits with {@linkcode ExitCode.Usage}.
 *
 * @example Usage
 * ```ts
 * import { UsageError } from "./errors.ts";
 * const error = new UsageError('unknown command: got "stat"');
 * console.log(error.exitCode); // 2
 * ```
 */
export class UsageError extends CliError {
  /** Creates the error; `message` states the rule and the offending value. */
  constructor(message: string) {
    super(message, ExitCode.Usage);
    this.name = "UsageError";
  }
}
