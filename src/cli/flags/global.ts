/**
 * The flags every command accepts.
 *
 * @module
 */

import type { FlagSpecs } from "./parse.ts";
import { CONNECTION_FLAGS } from "./connection.ts";

/**
 * `-h` / `--help`, accepted everywhere.
 *
 * @example Usage
 * ```ts
 * import { HELP_FLAG } from "./global.ts";
 * console.log(HELP_FLAG.help.short); // h
 * ```
 */
export const HELP_FLAG: FlagSpecs = {
  help: {
    type: "boolean",
    short: "h",
    description: "Show help, e.g. turn run --help",
  },
  version: {
    type: "boolean",
    description: "Print the version of turn, e.g. turn --version",
  },
};

/**
 * The flags every command accepts: connection flags and help.
 *
 * @example Usage
 * ```ts
 * import { GLOBAL_FLAGS } from "./global.ts";
 * console.log(Object.keys(GLOBAL_FLAGS));
 * ```
 */
export const GLOBAL_FLAGS: FlagSpecs = { ...CONNECTION_FLAGS, ...HELP_FLAG };
