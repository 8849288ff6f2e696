/**
 * Ties the command of `turn run` to its turn, so that it never outlives it,
 * however `turn` ends (SIGKILL included):
 *
 * - The command runs in a session and process group of its own, so `turn`
 *   can signal it together with every process it starts.
 * - A watchdog (a small `sh`, not in that group) reads a pipe from `turn`.
 *   When `turn` dies the pipe closes, and the watchdog kills the group.
 * - On Linux the command also gets a parent-death signal (`setpriv
 *   --pdeathsig KILL`), in case the watchdog dies with `turn`.
 * - On the file backend, the command's processes hold a shared lock on the
 *   turn's presence file (an inherited descriptor, as flock(1) gives its
 *   command), so the turn passes on only once the last of them has ended.
 *
 * @module
 */

import type { Lock } from "../../../mod.ts";
import { CliError, ExitCode } from "../errors.ts";
import {
  type Child,
  PROCESS,
  spawnInherited,
  type SpawnOptions,
  spawnPiped,
} from "../platform.ts";

/** A program and its arguments. */
export interface CommandLine {
  /** The program to start. */
  readonly program: string;
  /** Its arguments. */
  readonly args: readonly string[];
}

/** What the command is tied to. */
export interface Tie {
  /** The process id of `turn`: the command starts only while it lives. */
  readonly turnPid: number;
  /** Files whose shared lock keeps a turn alive (file backend). */
  readonly presenceFiles: readonly string[];
  /** Printed when the program is not found (exit code 127). */
  readonly notFound: string;
  /** Printed when the program cannot be executed (exit code 126). */
  readonly cannotExecute: string;
}

/**
 * How many presence files a command can hold: one descriptor each, 3 to 9,
 * the ones every POSIX shell can open by number.
 *
 * @example Usage
 * ```ts
 * import { MAX_PRESENCE_FILES } from "./tether.ts";
 * console.log(MAX_PRESENCE_FILES); // 7
 * ```
 */
export const MAX_PRESENCE_FILES = 7;

// $1: turn's pid, $2, $3: messages, $4: how many presence files, then the
// files, then the command. A parent that died before the parent-death
// signal was armed would go unnoticed: the pid check comes after it. The
// descriptors of the files stay open in the command and all it starts.
const PRELUDE = `[ "$PPID" = "$1" ] || exit 137
not_found=$2 cannot_execute=$3 files=$4 fd=3
shift 4
command -v flock >/dev/null 2>&1 || fd=
while [ "$files" -gt 0 ]; do
  if [ -n "$fd" ]; then
    [ -e "$1" ] || exit 70
    eval "exec $fd<>\"\$1\"" && flock -s "$fd" || exit 70
    fd=$((fd + 1))
  fi
  files=$((files - 1))
  shift
done
case $1 in
*/*)
  [ -e "$1" ] || { printf '%s\n' "$not_found" >&2; exit 127; }
  [ -f "$1" ] && [ -x "$1" ] || { printf '%s\n' "$cannot_execute" >&2; exit 126; } ;;
*) command -v "$1" >/dev/null 2>&1 || { printf '%s\n' "$not_found" >&2; exit 127; } ;;
esac
exec "$@"`;

/**
 * The command line that starts `command` tied to its turn: through `sh`,
 * and on Linux through `setpriv --pdeathsig KILL` first.
 *
 * @param command The user's command and its arguments.
 * @param tie What to tie it to.
 * @param pdeathsig Whether to arm a parent-death signal (Linux).
 * @returns The program and arguments to start, in a session of its own.
 *
 * @example Usage
 * ```ts
 * import { tiedCommandLine } from "./tether.ts";
 * const line = tiedCommandLine(["make"], {
 *   turnPid: 42,
 *   presenceFiles: [],
 *   notFound: "not found",
 *   cannotExecute: "cannot execute",
 * }, false);
 * console.log(line.program); // sh
 * ```
 */
export function tiedCommandLine(
  command: readonly string[],
  tie: Tie,
  pdeathsig: boolean,
): CommandLine {
  const shell = [
    "sh",
    "-c",
    PRELUDE,
    "turn",
    String(tie.turnPid),
    tie.notFound,
    tie.cannotExecute,
    String(tie.presenceFiles.length),
    ...tie.presenceFiles,
    ...command,
  ];
  if (!pdeathsig) return { program: shell[0], args: shell.slice(1) };
  return {
    program: "setpriv",
    args: ["--pdeathsig", "KILL", "--", ...shell],
  };
}

/**
 * What `turn` writes to the watchdog when the command has ended on its own,
 * so that the watchdog leaves its group alone.
 *
 * @example Usage
 * ```ts
 * import { STAND_DOWN } from "./tether.ts";
 * console.log(JSON.stringify(STAND_DOWN)); // "done\n"
 * ```
 */
export const STAND_DOWN = "done\n";

/**
 * The watchdog of the command `pid` (with `group`, of its whole process
 * group): it ignores the signals that end `turn`'s own process group, waits
 * for a line on stdin, and kills unless that line says to stand down (the
 * pipe closing, because `turn` died, is no such line).
 *
 * @param pid The command's process id (and process group id with `group`).
 * @param group Whether to kill its whole process group.
 * @returns The program and arguments to start, with stdin piped.
 *
 * @example Usage
 * ```ts
 * import { watchdogCommandLine } from "./tether.ts";
 * console.log(watchdogCommandLine(1234, true).program); // sh
 * ```
 */
export function watchdogCommandLine(pid: number, group: boolean): CommandLine {
  const script = `trap '' INT TERM HUP QUIT
read -r word
[ "$word" = done ] || kill -s KILL -- "$1" 2>/dev/null
exit 0`;
  return {
    program: "sh",
    args: ["-c", script, "turn-watchdog", `${group ? "-" : ""}${pid}`],
  };
}

/** The command of `turn run`, started and tied to its turn. */
export interface Tied extends AsyncDisposable {
  /** The command (with its process group, unless in the foreground). */
  readonly child: Child;
}

/**
 * Starts `command` tied to the turns of `locks` (see the module
 * documentation), with TURN_RESOURCE, TURN_NUMBER, TURN_FENCE and TURN_LABEL in its
 * environment. Dispose once the command has exited, to let the watchdog go
 * without stopping anything it left running.
 *
 * With `foreground`, the command stays in `turn`'s session and process
 * group (a terminal's foreground one, if `turn` is there), so it can open
 * `/dev/tty` and gets the terminal's signals itself; then only the command,
 * not what it starts, is killed.
 *
 * @param command The user's command and its arguments.
 * @param locks The turns held for it.
 * @param foreground Whether to leave the command in `turn`'s group.
 * @returns The started command.
 *
 * @example Usage
 * ```ts ignore
 * import { startTied } from "./tether.ts";
 * await using tied = await startTied(["make"], set.locks, false);
 * console.log(await tied.child.exitCode);
 * ```
 */
export async function startTied(
  command: readonly string[],
  locks: readonly Lock[],
  foreground: boolean,
): Promise<Tied> {
  const env = turnEnvironment(locks);
  if (PROCESS.os === "windows") {
    const child = await spawnDirect(command, env);
    return { child, [Symbol.asyncDispose]: () => Promise.resolve() };
  }
  const program = command[0];
  const tie: Tie = {
    turnPid: PROCESS.pid,
    presenceFiles: locks.flatMap((lock) => lock.presenceFile ?? []),
    notFound: `turn: ${notFound(program)}`,
    cannotExecute: `turn: ${cannotExecute(program)}`,
  };
  if (tie.presenceFiles.length > MAX_PRESENCE_FILES) {
    throw new CliError(
      `run holds at most ${MAX_PRESENCE_FILES} resources on the file backend (its command inherits a lock on each): got ${tie.presenceFiles.length}`,
      ExitCode.Usage,
    );
  }
  const group = !foreground;
  const child = await spawnTied(command, tie, { env, group });
  const watchdog = await spawnPiped(
    ...lineOf(watchdogCommandLine(child.pid, group)),
  );
  return {
    child,
    [Symbol.asyncDispose]: () => watchdog.end(STAND_DOWN),
  };
}

/**
 * What the command learns of its turn: the resources, numbers, fencing
 * tokens (one per line when there are several, in the order taken) and
 * label.
 */
function turnEnvironment(locks: readonly Lock[]): Record<string, string> {
  return {
    TURN_RESOURCE: locks.map((lock) => lock.resource).join("\n"),
    TURN_NUMBER: locks.map((lock) => lock.number).join("\n"),
    TURN_FENCE: locks.map((lock) => lock.fence).join("\n"),
    TURN_LABEL: locks[0]?.label ?? "",
  };
}

function lineOf({ program, args }: CommandLine): [string, readonly string[]] {
  return [program, args];
}

async function spawnTied(
  command: readonly string[],
  tie: Tie,
  options: SpawnOptions,
): Promise<Child> {
  if (PROCESS.os === "linux") {
    try {
      return await spawnInherited(
        ...lineOf(tiedCommandLine(command, tie, true)),
        options,
      );
    } catch (error) {
      // Without setpriv, the watchdog alone stops the command.
      if ((error as { code?: unknown } | null)?.code !== "ENOENT") throw error;
    }
  }
  return await spawnInherited(
    ...lineOf(tiedCommandLine(command, tie, false)),
    options,
  );
}

function notFound(program: string): string {
  return `command not found: got "${program}"`;
}

function cannotExecute(program: string): string {
  return `command must be an executable file: got "${program}"`;
}

async function spawnDirect(
  [program, ...args]: readonly string[],
  env: Record<string, string>,
): Promise<Child> {
  try {
    return await spawnInherited(program, args, { env });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ENOENT") {
      throw new CliError(notFound(program), ExitCode.CommandNotFound);
    }
    if (code === "EACCES") {
      throw new CliError(cannotExecute(program), ExitCode.CannotExecute);
    }
    throw error;
  }
}
