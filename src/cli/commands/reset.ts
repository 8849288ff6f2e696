/**
 * `turn reset`: remove the counters of idle queues, as turn 1.0 does.
 *
 * @module
 */

import { resourcesOrAll } from "../flags/parse.ts";
import type { Command } from "./command.ts";
import { ExitCode, UsageError } from "../errors.ts";
import type { ResetResult } from "../../../mod.ts";
import { printLines } from "../output.ts";

/**
 * The `reset` command.
 *
 * @example Usage
 * ```ts
 * import { resetCommand } from "./reset.ts";
 * console.log(resetCommand.usage);
 * ```
 */
export const resetCommand: Command = {
  name: "reset",
  summary: "Clear idle queues",
  usage: "reset [RESOURCE...]",
  description:
    `Skips users that are gone, then removes the queue's counters if nobody is left. Prints turn 1.0's messages:
'No such queue: "<resource>".' or '"<resource>" is in use by <n> user(s).'; prints nothing on success.
With no names, resets every resource.`,
  flags: {
    forget: {
      type: "boolean",
      description:
        "Also remove the fencing token of each named resource left with no queue (its tokens start again); needs names, e.g. turn reset --forget old-printer",
    },
  },
  examples: [
    ["turn reset printer", "clear the printer queue if it is idle"],
    ["turn reset", "clear every idle queue"],
    [
      "turn reset --forget old-printer",
      "clear it and restart its fencing tokens",
    ],
  ],
  prepare(args) {
    const names = resourcesOrAll(args);
    const forget = args.switches.has("forget");
    // Idle resources keep only their fence, so no listing can find them.
    if (forget && names === undefined) {
      throw new UsageError(
        "reset --forget needs the names of the resources to forget: got none",
      );
    }
    return async (locker) => {
      const results = await locker.reset(names, { forget });
      // A forgotten resource is expected to have no queue.
      const said = forget
        ? results.filter((result) => result.outcome !== "missing")
        : results;
      printLines(...said.flatMap((result) => resetLine(result) ?? []));
      return ExitCode.Ok;
    };
  },
};

/**
 * What turn 1.0 prints for one reset outcome, if anything.
 *
 * @param result The outcome.
 * @returns The line, or `undefined` for a successful reset.
 *
 * @example Usage
 * ```ts
 * import { resetLine } from "./reset.ts";
 * console.log(resetLine({ resource: "printer", outcome: "in-use", users: 2 }));
 * // "printer" is in use by 2 user(s).
 * ```
 */
export function resetLine(result: ResetResult): string | undefined {
  switch (result.outcome) {
    case "missing":
      return `No such queue: "${result.resource}".`;
    case "in-use":
      return `"${result.resource}" is in use by ${result.users} user(s).`;
    case "reset":
      return undefined;
  }
}
