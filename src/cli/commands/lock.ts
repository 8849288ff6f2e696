/**
 * `turn lock`: hold resources until Ctrl-C, printing turn 1.0's messages.
 *
 * @module
 */

import { acquireSorted, releasing, showWaiting } from "./acquire.ts";
import { resourcesOrAll } from "../flags/parse.ts";
import type { Command } from "./command.ts";
import type { Locker } from "../../../mod.ts";
import { ExitCode } from "../errors.ts";
import { TURN_FLAGS, turnOptions } from "../flags/turn.ts";
import { aborted, interruption } from "../signals.ts";
import { printLines } from "../output.ts";

/**
 * The `lock` command.
 *
 * @example Usage
 * ```ts
 * import { lockCommand } from "./lock.ts";
 * console.log(lockCommand.usage);
 * ```
 */
export const lockCommand: Command = {
  name: "lock",
  summary: "Hold resources until Ctrl-C",
  usage:
    "lock [--label LABEL] [--timeout DURATION] [-n] [--expire DURATION] [RESOURCE...]",
  description:
    `Waits for the turn on each resource, in sorted order, and holds them all until Ctrl-C, SIGTERM or SIGHUP.
Prints "<resource>: acquiring", then "<resource>: locked" once held, and "<resource>: released" after Ctrl-C;
Ctrl-C while still waiting prints "<resource>: canceled" (exit code 130). While waiting, stderr shows how many
users are ahead each time that changes (--quiet: never). --timeout, or -n finding a resource busy, exits with 75
(-E changes it). If a held turn is lost (its presence lapsed, or Redis went away), releases what it can and exits
with 70, printing why.
With no names, locks every resource that exists (as turn 1.0 does), naming them on stderr first.`,
  flags: TURN_FLAGS,
  examples: [
    ["turn lock printer", "hold the printer until Ctrl-C"],
    [
      "turn lock --timeout 2m scanner printer",
      "hold both (printer first); give up if either takes over 2 minutes",
    ],
  ],
  prepare(args) {
    const options = turnOptions(args, "lock tool");
    return async (locker) => {
      const names = resourcesOrAll(args) ?? await everyResource(locker);
      if (names.length === 0) return ExitCode.Ok;
      using interrupt = interruption();
      const report = {
        acquiring: say("acquiring"),
        waiting: showWaiting,
        locked: say("locked"),
        canceled: say("canceled"),
        released: say("released"),
      };
      const set = await acquireSorted(locker, names, {
        ...options,
        signal: interrupt.signal,
      }, report);
      await using _release = releasing(set, report);
      await aborted(AbortSignal.any([interrupt.signal, set.signal]));
      set.signal.throwIfAborted();
      return ExitCode.Ok;
    };
  },
};

// turn 1.0 locks everything there is when given no names. Scripts rely on
// that, so it stays; but it is never silent about what it takes.
async function everyResource(locker: Locker): Promise<string[]> {
  const names = (await locker.status()).map((status) => status.resource);
  console.error(
    names.length === 0
      ? "turn: no resource named, and none exists: nothing to lock"
      : `turn: no resource named: locking all ${names.length} that exist: ${
        names.map((name) => JSON.stringify(name)).join(", ")
      }`,
  );
  return names;
}

/** turn 1.0's lock tool messages: `<resource>: <word>`. */
function say(word: string): (resource: string) => void {
  return (resource) => printLines(`${resource}: ${word}`);
}
