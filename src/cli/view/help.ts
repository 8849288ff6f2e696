/**
 * Help texts, built from the commands' own descriptions and flags so they
 * cannot drift apart.
 *
 * @module
 */

import type { FlagSpecs } from "../flags/parse.ts";
import { GLOBAL_FLAGS } from "../flags/global.ts";
import type { Command } from "../commands/command.ts";

const ENVIRONMENT =
  `Environment (the URLs only when no connection flag is given, the first one set wins):
  TURN_URL              redis://, rediss:// or file:// URL, e.g. TURN_URL=file:///var/lock/turn
  TURN_REDIS_URL        Redis URL, e.g. TURN_REDIS_URL=redis://:secret@cache:6379/0
                        (prefer this over --password, which other users can see in \`ps\`)
  REDIS_URL             Redis URL, as many tools read it
  TURN_REDIS_PASSWORD   the password for --host, --port, --db, --cluster and --sentinels, when --password is not given
  NO_COLOR              turn off colours in status --watch
Environment of run's command:
  TURN_RESOURCE, TURN_NUMBER, TURN_LABEL   its turn (one line per resource when there are several)
  TURN_FENCE            its fencing token per resource: a decimal integer that grows with every grant`;

const EXIT_CODES = `Exit codes:
  0    success (also lock, follow, status --watch and dashboard ended by Ctrl-C, SIGTERM or SIGHUP)
  1    unexpected failure
  2    bad command line (unknown command or flag; bad duration, port, db, URL, name or label)
  69   Redis unavailable: unreachable, authentication refused, or the database cannot be selected
  70   a held turn was lost (its presence lapsed, or Redis went away); run stops its command first
  75   --timeout passed while waiting, or --nonblock found a resource busy (-E changes it)
  126  run: command cannot be executed
  127  run: command not found
  130  Ctrl-C, SIGTERM or SIGHUP while waiting
  141  stdout closed by its reader (e.g. piped into head)
  run otherwise exits with its command's exit code (128 + N if signal N ended it)`;

/**
 * The text of `turn --help`.
 *
 * @param commands Every command.
 * @returns The help text.
 *
 * @example Usage
 * ```ts
 * import { generalHelp } from "./help.ts";
 * console.log(generalHelp([]));
 * ```
 */
export function generalHelp(commands: readonly Command[]): string {
  const width = Math.max(0, ...commands.map((command) => command.name.length));
  return [
    "turn: take turns on shared resources through Redis (turn 1.0 compatible)",
    "",
    "Usage: turn [CONNECTION FLAGS] COMMAND [FLAGS] [RESOURCE...]",
    "       turn --version",
    "",
    "Commands:",
    ...commands.map((command) =>
      `  ${command.name.padEnd(width)}  ${command.summary}`
    ),
    "",
    "Connection flags (every command):",
    ...flagLines(GLOBAL_FLAGS),
    "",
    ENVIRONMENT,
    "",
    EXIT_CODES,
    "",
    "Examples:",
    ...exampleLines(commands.map((command) => command.examples[0])),
    "",
    "Run 'turn COMMAND --help' for a command's flags and more examples.",
  ].join("\n");
}

/**
 * The text of `turn COMMAND --help`.
 *
 * @param command The command.
 * @returns The help text.
 *
 * @example Usage
 * ```ts
 * import { commandHelp } from "./help.ts";
 * import { resetCommand } from "../commands/reset.ts";
 * console.log(commandHelp(resetCommand));
 * ```
 */
export function commandHelp(command: Command): string {
  return [
    `Usage: turn ${command.usage}`,
    "",
    command.description,
    "",
    ...(Object.keys(command.flags).length > 0
      ? ["Flags:", ...flagLines(command.flags), ""]
      : []),
    "Connection flags:",
    ...flagLines(withoutKeys(GLOBAL_FLAGS, command.flags)),
    "",
    "Examples:",
    ...exampleLines(command.examples),
  ].join("\n");
}

// A command's own flag of the same name replaces the connection flag.
function withoutKeys(specs: FlagSpecs, own: FlagSpecs): FlagSpecs {
  return Object.fromEntries(
    Object.entries(specs).filter(([name]) => !(name in own)),
  );
}

function flagLines(specs: FlagSpecs): string[] {
  const heads = Object.entries(specs).map(([name, spec]) =>
    [
      `${spec.short ? `-${spec.short}, ` : ""}--${name}`,
      spec.value,
    ].filter(Boolean).join(" ")
  );
  const width = Math.max(...heads.map((head) => head.length));
  return Object.values(specs).map((spec, i) =>
    `  ${heads[i].padEnd(width)}  ${spec.description}`
  );
}

function exampleLines(
  examples: readonly (readonly [string, string])[],
): string[] {
  const width = Math.max(...examples.map(([command]) => command.length));
  return examples.map(([command, comment]) =>
    `  ${command.padEnd(width)}  # ${comment}`
  );
}
