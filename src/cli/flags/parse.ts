/**
 * Command-line flags: parsed with `node:util` parseArgs, then checked here so
 * every mistake becomes one {@linkcode UsageError} naming the offending word.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";

/** One flag a command accepts. */
export interface FlagSpec {
  /** `string` flags take a value (`--port 6380`), `boolean` ones do not. */
  readonly type: "string" | "boolean";
  /** A one-letter alias, e.g. `h` for `-h`. */
  readonly short?: string;
  /** How the value is shown in help, e.g. `PORT`. */
  readonly value?: string;
  /** One line for the help text. */
  readonly description: string;
}

/** Flags by long name (without the dashes). */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** A command line split into flags, names and what follows `--`. */
export interface ParsedArgs {
  /** Values of the string flags that were given. */
  readonly strings: Readonly<Record<string, string>>;
  /** Names of the boolean flags that were given. */
  readonly switches: ReadonlySet<string>;
  /** Positional words before `--`. */
  readonly names: readonly string[];
  /** Words after the first `--`, or `undefined` if there was no `--`. */
  readonly rest: readonly string[] | undefined;
}

/**
 * The resource names given, or `undefined` (meaning every resource) if none
 * were.
 *
 * @param args The parsed command line.
 * @returns The names, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { parseFlags, resourcesOrAll } from "./parse.ts";
 * console.log(resourcesOrAll(parseFlags([], {}, "turn --help"))); // undefined
 * ```
 */
export function resourcesOrAll(
  args: ParsedArgs,
): readonly string[] | undefined {
  return args.names.length > 0 ? args.names : undefined;
}

/**
 * Splits `args` by `specs`, refusing unknown flags, string flags without a
 * value and boolean flags with one.
 *
 * @param args The words to parse.
 * @param specs The accepted flags.
 * @param help What to suggest in errors, e.g. `turn status --help`.
 * @returns The flags, names and trailing words.
 * @throws {UsageError} On any flag that `specs` does not allow.
 *
 * @example Usage
 * ```ts
 * import { parseFlags } from "./parse.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * const parsed = parseFlags(["--port", "6380", "printer"], {
 *   port: { type: "string", description: "Redis port" },
 * }, "turn --help");
 * deepStrictEqual(parsed.strings, { port: "6380" });
 * deepStrictEqual(parsed.names, ["printer"]);
 * ```
 */
export function parseFlags(
  args: readonly string[],
  specs: FlagSpecs,
  help: string,
): ParsedArgs {
  const strings: Record<string, string> = {};
  const switches = new Set<string>();
  const names: string[] = [];
  let rest: string[] | undefined;
  for (const token of tokenize(args, specs)) {
    if (token.kind === "option-terminator") rest = [];
    else if (token.kind === "positional") (rest ?? names).push(token.value);
    else if (checkOption(token, specs, args, help) === "boolean") {
      switches.add(token.name);
    } else strings[token.name] = token.value!;
  }
  return { strings, switches, names, rest };
}

/**
 * Finds the first positional word (the command), skipping flag values.
 *
 * @param args The whole command line.
 * @param specs Every flag any command accepts, so values are skipped.
 * @returns The command word and its index, or `undefined` if there is none.
 *
 * @example Usage
 * ```ts
 * import { findCommand } from "./parse.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * const specs = { host: { type: "string", description: "Redis host" } } as const;
 * deepStrictEqual(findCommand(["--host", "db", "status"], specs), { name: "status", index: 2 });
 * ```
 */
export function findCommand(
  args: readonly string[],
  specs: FlagSpecs,
): { name: string; index: number } | undefined {
  for (const token of tokenize(args, specs)) {
    if (token.kind === "option-terminator") return undefined;
    if (token.kind === "positional") {
      return { name: token.value, index: token.index };
    }
  }
  return undefined;
}

function checkOption(
  token: OptionToken,
  specs: FlagSpecs,
  args: readonly string[],
  help: string,
): FlagSpec["type"] {
  const type = specs[token.name]?.type;
  const word = args[token.index];
  if (type === undefined) {
    throw new UsageError(`unknown flag (see ${help}): got "${word}"`);
  }
  if (type === "boolean" && token.value !== undefined) {
    throw new UsageError(`--${token.name} takes no value: got "${word}"`);
  }
  if (type === "string" && token.value === undefined) {
    throw new UsageError(`--${token.name} needs a value: got "${word}"`);
  }
  return type;
}

type OptionToken = {
  kind: "option";
  index: number;
  name: string;
  value?: string;
};

type Token =
  | { kind: "option-terminator"; index: number }
  | { kind: "positional"; index: number; value: string }
  | OptionToken;

function tokenize(args: readonly string[], specs: FlagSpecs): Token[] {
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, { type, short }]) => [
      name,
      short === undefined ? { type } : { type, short },
    ]),
  );
  return parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  }).tokens as Token[];
}
