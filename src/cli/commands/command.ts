/**
 * The shape shared by the `turn` subcommands.
 *
 * @module
 */

import type { FlagSpecs, ParsedArgs } from "../flags/parse.ts";
import type { Locker } from "../../../mod.ts";

/** A checked command, ready to run; resolves to the exit code. */
export type Run = (locker: Locker) => Promise<number>;

/** One subcommand of `turn`: its help and its implementation. */
export interface Command {
  /** The word that selects it, e.g. `status`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The usage line after `turn `, e.g. `status [--json] [RESOURCE...]`. */
  readonly usage: string;
  /** Paragraphs explaining what it prints and how it ends. */
  readonly description: string;
  /**
   * Whether the words after `--` are a command to run (`run`). For every
   * other command they are resource names, so `turn reset -- -x` names the
   * resource `-x`.
   */
  readonly takesCommand?: boolean;
  /** Its own flags (the connection flags are added to every command). */
  readonly flags: FlagSpecs;
  /** Example command lines with what each does. */
  readonly examples: readonly (readonly [command: string, comment: string])[];
  /**
   * Checks the arguments before anything connects, so bad input changes
   * nothing, and returns the command ready to run.
   *
   * @throws {UsageError} On bad arguments.
   */
  prepare(args: ParsedArgs): Run;
}
