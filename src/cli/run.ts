/**
 * `turn run`: like flock(1), but fair and across hosts. Waits for the turn,
 * runs a command while holding it, and exits with the command's exit code.
 *
 * @module
 */

import { acquireSorted, showWaiting } from "./acquire.ts";
import type { ParsedArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { CliError, ExitCode, UsageError } from "./errors.ts";
import { type Child, spawnInherited } from "./platform.ts";
import { Interrupted, onEndingSignal } from "./signals.ts";
import { TURN_FLAGS, turnOptions } from "./turn_flags.ts";

/**
 * The `run` command.
 *
 * @example Usage
 * ```ts
 * import { runCommand } from "./run.ts";
 * console.log(runCommand.usage);
 * ```
 */
export const runCommand: Command = {
  name: "run",
  summary: "Run a command while holding resources",
  usage:
    "run [--label LABEL] [--timeout DURATION] [--expire DURATION] RESOURCE... -- COMMAND [ARG...]",
  description:
    `Waits for the turn on each resource (in sorted order), runs COMMAND with stdin, stdout and stderr passed through,
and releases the resources when it ends. Exits with COMMAND's exit code (128 + N if signal N ended it).
SIGINT and SIGTERM are forwarded to COMMAND; before it starts they cancel the wait (exit code 130).
Exit codes of its own: 75 when --timeout passes, 69 when Redis is unreachable, 70 when the turn is lost while
COMMAND runs (COMMAND gets SIGTERM), 127 when COMMAND is not found, 126 when it cannot be executed.
The label defaults to the command line (control characters as spaces, cut at 100 characters).`,
  flags: TURN_FLAGS,
  takesCommand: true,
  examples: [
    ["turn run printer -- lp report.pdf", "print when it is our turn"],
    [
      "turn run --timeout 5m --label deploy prod-db -- ./migrate.sh --all",
      "run a migration, giving up after 5 minutes of waiting",
    ],
  ],
  prepare(args) {
    const command = commandOf(args);
    const options = turnOptions(args, commandLabel(command));
    return async (locker) => {
      const waiting = new AbortController();
      // Before the command starts, a signal cancels the wait; after, the
      // command gets it and decides.
      const started: { child?: Child } = {};
      using _forwarding = onEndingSignal((signal) => {
        if (started.child) started.child.kill(signal);
        else waiting.abort(new Interrupted(signal));
      });
      await using holding = await acquireSorted(locker, args.names, {
        ...options,
        signal: waiting.signal,
      }, { waiting: showWaiting });
      // A lease lost while waiting for a later resource: never start.
      holding.lost.throwIfAborted();
      const child = started.child = await spawn(command);
      // A signal that came while the command was starting is its, too.
      const early = waiting.signal.reason;
      if (early instanceof Interrupted) child.kill(early.signal);
      // An aborted signal fires no more events: a lease lost while the
      // command was starting is acted on here.
      if (holding.lost.aborted) child.kill("SIGTERM");
      else holding.lost.addEventListener("abort", () => child.kill("SIGTERM"));
      const code = await child.exitCode;
      if (holding.lost.aborted) throw holding.lost.reason;
      return code;
    };
  },
};

function commandOf(args: ParsedArgs): readonly string[] {
  if (args.names.length === 0) {
    throw new UsageError(
      `run needs at least one resource before "--": got "${
        args.rest?.join(" ") ?? ""
      }"`,
    );
  }
  if (args.rest === undefined || args.rest.length === 0) {
    throw new UsageError(
      `run needs "--" and then the command, e.g. turn run printer -- lp report.pdf: got "${
        args.names.join(" ")
      }"`,
    );
  }
  return args.rest;
}

const LABEL_LENGTH = 100;

// A label is one line of at most 1024 characters; a command line need not be.
function commandLabel(command: readonly string[]): string {
  // deno-lint-ignore no-control-regex
  const chars = [...command.join(" ").replace(/[\u0000-\u001f\u007f]+/g, " ")];
  return chars.length <= LABEL_LENGTH
    ? chars.join("")
    : `${chars.slice(0, LABEL_LENGTH - 3).join("")}...`;
}

async function spawn([program, ...args]: readonly string[]): Promise<Child> {
  try {
    return await spawnInherited(program, args);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ENOENT") {
      throw new CliError(
        `command not found: got "${program}"`,
        ExitCode.CommandNotFound,
      );
    }
    if (code === "EACCES") {
      throw new CliError(
        `command must be an executable file: got "${program}"`,
        ExitCode.CannotExecute,
      );
    }
    throw error;
  }
}
