/**
 * The flags of the commands that take turns (`lock`, `run`).
 *
 * @module
 */

import type { FlagSpecs, ParsedArgs } from "./args.ts";
import { parseDuration } from "./duration.ts";
import { MIN_EXPIRE } from "../locker.ts";
import { checkDuration, checkLabel } from "../validate.ts";

/**
 * `--label`, `--timeout` and `--expire`.
 *
 * @example Usage
 * ```ts
 * import { TURN_FLAGS } from "./turn_flags.ts";
 * console.log(Object.keys(TURN_FLAGS)); // ["label", "timeout", "expire"]
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
      "Give up waiting for a resource after this long, e.g. --timeout 30s (500ms, 2m, 1m30s)",
  },
  expire: {
    type: "string",
    value: "DURATION",
    description:
      "Presence lifetime, renewed while alive: if this process dies, others move on after it (default 60s), e.g. --expire 10s",
  },
};

/** The label, timeout and expiry to take turns with. */
export interface TurnOptions {
  /** The label other users see. */
  readonly label: string;
  /** Milliseconds to wait per resource, if limited. */
  readonly timeout?: number;
  /** Presence TTL in milliseconds, if not the Locker's default. */
  readonly expire?: number;
}

/**
 * Reads `--label` and `--timeout`.
 *
 * @param args The parsed command line.
 * @param label The label to use without `--label`.
 * @returns The options.
 * @throws {UsageError} If `--timeout` or `--expire` is not a duration.
 * @throws {RangeError} If the label or a duration breaks the Locker's rules
 *   (turned into a usage error by the caller).
 *
 * @example Usage
 * ```ts
 * import { parseFlags } from "./args.ts";
 * import { TURN_FLAGS, turnOptions } from "./turn_flags.ts";
 * const args = parseFlags(["--timeout", "2m"], TURN_FLAGS, "turn lock --help");
 * console.log(turnOptions(args, "lock tool")); // { label: "lock tool", timeout: 120000 }
 * ```
 */
export function turnOptions(args: ParsedArgs, label: string): TurnOptions {
  return {
    label: checkLabel(args.strings.label ?? label),
    ...durationFlag(args, "timeout"),
    ...durationFlag(args, "expire"),
  };
}

const MINIMUM_MS = { timeout: 1, expire: MIN_EXPIRE } as const;

function durationFlag(
  args: ParsedArgs,
  name: keyof typeof MINIMUM_MS,
): Partial<Record<typeof name, number>> {
  const text = args.strings[name];
  if (text === undefined) return {};
  const flag = `--${name}`;
  const ms = parseDuration(text, flag);
  return { [name]: checkDuration(flag, ms, MINIMUM_MS[name]) };
}
