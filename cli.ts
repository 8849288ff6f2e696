/**
 * The `turn` command: a drop-in for turn 1.0's console tool (`status`,
 * `follow`, `reset`, `lock`) plus `run`, `--json`, `--watch` and `--url`.
 *
 * Install it with the least privileges it needs:
 *
 * ```sh
 * deno install -g -n turn --config deno.json --quiet --allow-net --allow-read=/var/lock/turn --allow-write=/var/lock/turn --allow-env=TURN_URL,TURN_REDIS_URL,REDIS_URL,TURN_REDIS_PASSWORD --ignore-env --no-prompt --allow-run cli.ts
 * ```
 *
 * @module
 */

import {
  findCommand,
  type FlagSpecs,
  type ParsedArgs,
  parseFlags,
} from "./src/cli/flags/parse.ts";
import type { Command } from "./src/cli/commands/command.ts";
import { connectionOptions } from "./src/cli/flags/connection.ts";
import { reportError } from "./src/cli/view/error_report.ts";
import { ExitCode, UsageError } from "./src/cli/errors.ts";
import { followCommand } from "./src/cli/commands/follow.ts";
import { commandHelp, generalHelp } from "./src/cli/view/help.ts";
import { GLOBAL_FLAGS } from "./src/cli/flags/global.ts";
import { dashboardCommand } from "./src/cli/commands/dashboard.ts";
import { lockCommand } from "./src/cli/commands/lock.ts";
import { resetCommand } from "./src/cli/commands/reset.ts";
import { runCommand } from "./src/cli/commands/run.ts";
import { statusCommand } from "./src/cli/commands/status.ts";
import { Locker } from "./mod.ts";
import { checkResources } from "./src/validate.ts";
import { printLines } from "./src/cli/output.ts";
import { runProgram } from "./src/cli/platform.ts";
import { VERSION } from "./src/cli/version.ts";

const COMMANDS: readonly Command[] = [
  statusCommand,
  followCommand,
  resetCommand,
  lockCommand,
  runCommand,
  dashboardCommand,
];
const ALL_FLAGS: FlagSpecs = Object.assign(
  {},
  GLOBAL_FLAGS,
  ...COMMANDS.map((command) => command.flags),
);

/**
 * Runs the `turn` command line and resolves to the process exit code. Errors
 * are printed as one line on stderr, never as a stack trace.
 *
 * @param args The arguments after `turn`, e.g. `["status", "printer"]`.
 * @returns The exit code.
 *
 * @example Usage
 * ```ts
 * import { main } from "./cli.ts";
 * const code = await main(["--help"]);
 * console.log(code); // 0
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  try {
    return await dispatch(args);
  } catch (error) {
    return reportError(error);
  }
}

async function dispatch(args: readonly string[]): Promise<number> {
  const found = findCommand(args, ALL_FLAGS);
  const rest = found === undefined ? args : args.toSpliced(found.index, 1);
  if (found === undefined || found.name === "help") {
    return help(rest, found !== undefined);
  }
  const command = commandNamed(found.name, "unknown command");
  const parsed = namesAfterDashes(
    command,
    parseFlags(
      rest,
      { ...GLOBAL_FLAGS, ...command.flags },
      `turn ${command.name} --help`,
    ),
  );
  if (parsed.switches.has("version")) return print(`turn ${VERSION}`);
  if (parsed.switches.has("help")) return print(commandHelp(command));
  const { run, locker } = asUsageError(() => {
    checkResources(parsed.names);
    const run = command.prepare(parsed);
    const connection = connectionOptions(withoutOwnFlags(parsed, command));
    return { run, locker: new Locker(connection) };
  });
  try {
    return await run(locker);
  } finally {
    await locker.close();
  }
}

// `--` ends the flags, so a resource whose name starts with "-" can still be
// named. Dropping those words instead would turn `turn reset -- -x` into a
// reset of every resource.
function namesAfterDashes(command: Command, parsed: ParsedArgs): ParsedArgs {
  if (command.takesCommand || parsed.rest === undefined) return parsed;
  return {
    ...parsed,
    names: [...parsed.names, ...parsed.rest],
    rest: undefined,
  };
}

// A command's own flag wins over a connection flag of the same name
// (`dashboard --port` is where it listens), so it does not reach the Locker.
function withoutOwnFlags(parsed: ParsedArgs, command: Command): ParsedArgs {
  const strings = Object.fromEntries(
    Object.entries(parsed.strings).filter(([name]) => !(name in command.flags)),
  );
  return { ...parsed, strings };
}

function help(args: readonly string[], asked: boolean): number {
  const parsed = parseFlags(args, ALL_FLAGS, "turn --help");
  if (parsed.switches.has("version")) return print(`turn ${VERSION}`);
  const topic = parsed.names[0];
  if (topic !== undefined) {
    return print(commandHelp(commandNamed(topic, "help is about a command")));
  }
  if (asked || parsed.switches.has("help")) return print(generalHelp(COMMANDS));
  throw new UsageError(
    `a command is needed (one of ${names()}; see turn --help): got none`,
  );
}

function commandNamed(name: string, rule: string): Command {
  const command = COMMANDS.find((command) => command.name === name);
  if (command !== undefined) return command;
  throw new UsageError(
    `${rule} (one of ${names()}; see turn --help): got "${name}"`,
  );
}

// The Locker's own checks of names, labels, durations and URLs throw
// TypeError or RangeError; before anything runs, those are the user's input.
function asUsageError<T>(prepare: () => T): T {
  try {
    return prepare();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

function print(text: string): number {
  printLines(text);
  return ExitCode.Ok;
}

function names(): string {
  return COMMANDS.map(({ name }) => name).join(", ");
}

if (import.meta.main) await runProgram(main, reportError);
