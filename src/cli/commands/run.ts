/**
 * `turn run`: like flock(1), but fair and across hosts. Waits for the turn,
 * runs a command while holding it, and exits with the command's exit code.
 * The command never outlives its turn: see tether.ts and stop.ts.
 *
 * @module
 */

import { acquireSorted, releasing, showWaiting } from "./acquire.ts";
import type { FlagSpecs, ParsedArgs } from "../flags/parse.ts";
import type { Command } from "./command.ts";
import { parseDuration } from "../flags/duration.ts";
import { UsageError } from "../errors.ts";
import type { Child } from "../platform.ts";
import { Interrupted, onEndingSignal } from "../signals.ts";
import { stopOnLoss } from "./stop.ts";
import { startTied } from "./tether.ts";
import { TURN_FLAGS, turnOptions } from "../flags/turn.ts";
import { DEFAULT_EXPIRE } from "../../locker.ts";
import { replaceControls } from "../../validate.ts";
import type { ReleaseOutcome } from "../../lock.ts";

const DEFAULT_KILL_AFTER = "5s";

const RUN_FLAGS: FlagSpecs = {
  ...TURN_FLAGS,
  "kill-after": {
    type: "string",
    value: "DURATION",
    description:
      `When the turn is lost, SIGKILL follows SIGTERM after this long (default ${DEFAULT_KILL_AFTER}; on Redis always before the presence can lapse), e.g. --kill-after 30s`,
  },
  foreground: {
    type: "boolean",
    description:
      "Leave COMMAND in turn's process group (as timeout --foreground does): it can open /dev/tty (password prompts) and gets Ctrl-C itself, but what it starts is not killed with it, e.g. turn run --foreground db -- psql",
  },
};

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
    "run [--label LABEL] [--timeout DURATION] [-n] [--expire DURATION] [--kill-after DURATION] [--foreground] RESOURCE... -- COMMAND [ARG...]",
  description:
    `Waits for the turn on each resource (in sorted order), runs COMMAND with stdin, stdout and stderr passed through,
and releases the resources when it ends: as completed if it exited 0, otherwise as crashed (turn 1.0's "crashed!",
which turn follow shows); the turn is handed on at once either way. Exits with COMMAND's exit code (128 + N if signal N ended it).
COMMAND runs in a session and process group of its own (unless --foreground); SIGINT, SIGTERM and SIGHUP are
forwarded to that group; before COMMAND starts they cancel the wait (exit code 130). COMMAND's environment has TURN_RESOURCE, TURN_NUMBER,
TURN_FENCE (fencing tokens: decimal integers, compare them as numbers) and TURN_LABEL (one line per resource when there are several).
COMMAND never outlives its turn: if turn itself dies, even by SIGKILL, a watchdog kills COMMAND's process group
(on Linux COMMAND also gets a parent-death signal), and on the file backend COMMAND's processes keep the turn
(they inherit a lock on it, as with flock(1)) until the last of them has ended. If the turn is lost while
COMMAND runs, or on Redis when renewals stop arriving and the turn could lapse, COMMAND's group gets SIGTERM, then
SIGKILL after --kill-after, and run exits with 70.
Exit codes of its own: 75 when --timeout passes or --nonblock finds a resource busy (see -E), 69 when Redis is
unreachable, 70 when the turn is lost, 127 when COMMAND is not found, 126 when it cannot be executed.
The label defaults to the command line, quoted as a shell would need it (cut at 100 characters).`,
  flags: RUN_FLAGS,
  takesCommand: true,
  examples: [
    ["turn run printer -- lp report.pdf", "print when it is our turn"],
    [
      "turn run --timeout 5m --label deploy prod-db -- ./migrate.sh --all",
      "run a migration, giving up after 5 minutes of waiting",
    ],
    [
      "turn run -n -E 0 --quiet backup -- ./backup.sh",
      "cron: skip this run quietly if the last backup still runs",
    ],
  ],
  prepare(args) {
    const command = commandOf(args);
    const options = turnOptions(args, commandLabel(command));
    const killAfter = parseDuration(
      args.strings["kill-after"] ?? DEFAULT_KILL_AFTER,
      "--kill-after",
    );
    const expire = options.expire ?? DEFAULT_EXPIRE;
    return async (locker) => {
      const waiting = new AbortController();
      // Before the command starts, a signal cancels the wait; after, the
      // command gets it and decides.
      const started: { child?: Child } = {};
      using _forwarding = onEndingSignal((signal) => {
        if (started.child) started.child.kill(signal);
        else waiting.abort(new Interrupted(signal));
      });
      const set = await acquireSorted(locker, args.names, {
        ...options,
        signal: waiting.signal,
      }, { waiting: showWaiting });
      // turn 1.0's outcomes: `completed` only for a command that exited 0
      // with the turn held throughout; one that failed, was killed or never
      // started `crashed`.
      let outcome: ReleaseOutcome = "crashed";
      await using _release = releasing(set, {}, () => outcome);
      // A lease lost while waiting for a later resource: never start.
      set.signal.throwIfAborted();
      await using tied = await startTied(
        command,
        set.locks,
        args.switches.has("foreground"),
      );
      const child = started.child = tied.child;
      // A signal that came while the command was starting is its, too.
      const early = waiting.signal.reason;
      if (early instanceof Interrupted) child.kill(early.signal);
      using stopper = stopOnLoss(child, set, { killAfter, expire });
      const code = await child.exitCode;
      if (stopper.reason !== undefined) throw stopper.reason;
      if (code === 0) outcome = "completed";
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
  if (args.rest === undefined) {
    throw new UsageError(
      `run needs "--" and then the command, e.g. turn run printer -- lp report.pdf: got "${
        args.names.join(" ")
      }"`,
    );
  }
  if (args.rest.length === 0) {
    throw new UsageError(
      `run needs a command after "--", e.g. turn run printer -- lp report.pdf: got nothing after "--"`,
    );
  }
  return args.rest;
}

const LABEL_LENGTH = 100;

// A label is one line of at most 1024 characters; a command line need not
// be. Words are quoted as a shell would need them, so the label reads as
// the command that was typed.
function commandLabel(command: readonly string[]): string {
  const line = command.map(shellWord).join(" ");
  const chars = [...replaceControls(line, " ")];
  return chars.length <= LABEL_LENGTH
    ? chars.join("")
    : `${chars.slice(0, LABEL_LENGTH - 3).join("")}...`;
}

function shellWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
