/**
 * The flags of the commands that take turns (`lock`, `run`).
 *
 * @module
 */

import type { FlagSpecs, ParsedArgs } from "./parse.ts";
import { parseDuration } from "./duration.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { MIN_EXPIRE } from "../../locker.ts";
import { checkDuration, checkLabel, numberFromDigits } from "../../validate.ts";

const MAX_EXIT_CODE = 255;

/**
 * `--label`, `--timeout`, `--expire`, `--nonblock`, `--conflict-exit-code`,
 * `--quiet`, `--capacity`, `--shared` and `--exclusive`.
 *
 * @example Usage
 * ```ts
 * import { TURN_FLAGS } from "./turn.ts";
 * console.log(Object.keys(TURN_FLAGS)); // ["label", "timeout", "expire", ...]
 * ```
 */
export const TURN_FLAGS: FlagSpecs = {
  label: {
    type: "string",
    value: "LABEL",
    description:
      'Who is waiting, as others see it in status and follow, e.g. --label "nightly backup"',
  },
  timeout: {
    type: "string",
    value: "DURATION",
    description:
      "Give up waiting for a resource after this long, e.g. --timeout 30s (500ms, 2m, 1m30s); 0 means --nonblock",
  },
  expire: {
    type: "string",
    value: "DURATION",
    description:
      "Presence lifetime, renewed while alive: if this process dies, others move on after it (default 60s), e.g. --expire 10s",
  },
  nonblock: {
    type: "boolean",
    short: "n",
    description:
      "Fail at once (exit code 75) if anyone holds or waits for a resource, as flock -n does",
  },
  "conflict-exit-code": {
    type: "string",
    short: "E",
    value: "CODE",
    description:
      "Exit code for --nonblock and --timeout (default 75), e.g. -E 0 for a cron job that may skip a run",
  },
  quiet: {
    type: "boolean",
    short: "q",
    description: 'No "waiting, N ahead" lines on stderr, e.g. for cron',
  },
  capacity: {
    type: "string",
    value: "N",
    description:
      "Let up to N users hold each resource at once, served in order; every user of it must give the same N, e.g. --capacity 3",
  },
  shared: {
    type: "boolean",
    description:
      "Hold beside other --shared users (a reader), as flock -s does, e.g. turn run --shared db -- backup.sh",
  },
  exclusive: {
    type: "boolean",
    description:
      "Hold alone among --shared or --capacity users (a writer), as flock -x does, e.g. turn run --exclusive db -- migrate.sh",
  },
};

/** The label, timeout and expiry to take turns with, and how to report. */
export interface TurnOptions {
  /** The label other users see. */
  readonly label: string;
  /** Milliseconds to wait per resource, if limited. */
  readonly timeout?: number;
  /** `--timeout` as typed, to report it in the user's unit. */
  readonly timeoutText?: string;
  /** Presence TTL in milliseconds, if not the Locker's default. */
  readonly expire?: number;
  /** Take the turns only if all are free now (`--nonblock`, `--timeout 0`). */
  readonly nonblock: boolean;
  /** The exit code when they are not, or when `--timeout` passes. */
  readonly conflictExitCode: number;
  /** No progress lines. */
  readonly quiet: boolean;
  /** `--capacity`, if given. */
  readonly capacity?: number;
  /** `--shared` (true) or `--exclusive` (false), if given. */
  readonly shared?: boolean;
}

/**
 * Reads the flags of TURN_FLAGS.
 *
 * @param args The parsed command line.
 * @param label The label to use without `--label`.
 * @returns The options.
 * @throws {UsageError} If `--timeout` or `--expire` is not a duration,
 *   `--capacity` not a whole number of places, or `--shared` and
 *   `--exclusive` both given.
 * @throws {RangeError} If the label or a duration breaks the Locker's rules
 *   (turned into a usage error by the caller).
 *
 * @example Usage
 * ```ts
 * import { parseFlags } from "./parse.ts";
 * import { TURN_FLAGS, turnOptions } from "./turn.ts";
 * const args = parseFlags(["--timeout", "2m"], TURN_FLAGS, "turn lock --help");
 * console.log(turnOptions(args, "lock tool").timeout); // 120000
 * ```
 */
export function turnOptions(args: ParsedArgs, label: string): TurnOptions {
  const { timeout } = durationFlag(args, "timeout");
  return {
    label: checkLabel(args.strings.label ?? label),
    ...(timeout === 0 || timeout === undefined
      ? {}
      : { timeout, timeoutText: args.strings.timeout }),
    ...durationFlag(args, "expire"),
    nonblock: args.switches.has("nonblock") || timeout === 0,
    conflictExitCode: exitCodeFlag(
      args,
      "conflict-exit-code",
      ExitCode.Timeout,
    ),
    quiet: args.switches.has("quiet"),
    ...sharedFlags(args),
  };
}

function sharedFlags(
  args: ParsedArgs,
): { capacity?: number; shared?: boolean } {
  const shared = args.switches.has("shared");
  const exclusive = args.switches.has("exclusive");
  if (shared && exclusive) {
    throw new UsageError(
      "--shared and --exclusive cannot be combined: got --shared --exclusive",
    );
  }
  const text = args.strings.capacity;
  let capacity: number | undefined;
  if (text !== undefined) {
    capacity = /^[0-9]{1,9}$/.test(text) ? Number(text) : NaN;
    if (!(capacity >= 1)) {
      throw new UsageError(
        `--capacity must be a whole number of places, at least 1: got "${text}"`,
      );
    }
  }
  return {
    ...(capacity === undefined ? {} : { capacity }),
    ...(shared || exclusive ? { shared } : {}),
  };
}

/**
 * Reads an exit code flag: a whole number from 0 to 255.
 *
 * @param args The parsed command line.
 * @param name The flag's name, without dashes.
 * @param fallback The code when the flag is not given.
 * @returns The code.
 * @throws {UsageError} If the value is not such a number.
 *
 * @example Usage
 * ```ts
 * import { parseFlags } from "./parse.ts";
 * import { exitCodeFlag, TURN_FLAGS } from "./turn.ts";
 * const args = parseFlags(["-E", "0"], TURN_FLAGS, "turn run --help");
 * console.log(exitCodeFlag(args, "conflict-exit-code", 75)); // 0
 * ```
 */
export function exitCodeFlag(
  args: ParsedArgs,
  name: string,
  fallback: number,
): number {
  const text = args.strings[name];
  if (text === undefined) return fallback;
  const code = numberFromDigits(text, 3);
  if (!(code <= MAX_EXIT_CODE)) {
    throw new UsageError(
      `--${name} must be a whole number from 0 to ${MAX_EXIT_CODE}: got "${text}"`,
    );
  }
  return code;
}

const MINIMUM_MS = { timeout: 1, expire: MIN_EXPIRE } as const;

function durationFlag(
  args: ParsedArgs,
  name: keyof typeof MINIMUM_MS,
): Partial<Record<typeof name, number>> {
  const text = args.strings[name];
  if (text === undefined) return {};
  const flag = `--${name}`;
  // A bare 0 needs no unit: it is nothing in any unit.
  const ms = text === "0" ? 0 : parseDuration(text, flag);
  if (ms === 0 && name === "timeout") return { timeout: 0 };
  // Said in the user's words: a unit they chose, not milliseconds.
  if (ms < MINIMUM_MS[name]) {
    throw new UsageError(
      `${flag} must be at least ${MINIMUM_MS[name]}ms: got "${text}"`,
    );
  }
  return { [name]: checkDuration(flag, ms, MINIMUM_MS[name]) };
}
