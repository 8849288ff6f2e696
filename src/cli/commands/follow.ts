/**
 * `turn follow`: print queue events as they happen, until Ctrl-C.
 *
 * @module
 */

import { resourcesOrAll } from "../flags/parse.ts";
import type { Command } from "./command.ts";
import { ExitCode } from "../errors.ts";
import { interruption } from "../signals.ts";
import type { TurnEvent } from "../../../mod.ts";
import { printLines } from "../output.ts";

/**
 * The `follow` command.
 *
 * @example Usage
 * ```ts
 * import { followCommand } from "./follow.ts";
 * console.log(followCommand.usage);
 * ```
 */
export const followCommand: Command = {
  name: "follow",
  summary: "Print queue events as they happen",
  usage: "follow [--json] [RESOURCE...]",
  description:
    `Prints every event on the named resources, one line each, as turn 1.0 does (e.g. 'printer: 1 started'),
until Ctrl-C, SIGTERM or SIGHUP (exit code 0). With no names, follows every resource, including ones created later.`,
  flags: {
    json: {
      type: "boolean",
      description:
        'One JSON object per line: {"resource","number","kind","label","fence","time"}, e.g. turn follow --json printer',
    },
  },
  examples: [
    ["turn follow printer", "watch the printer queue"],
    ["turn follow", "watch every queue, new ones too"],
    ["turn follow --json | jq .kind", "process events with jq"],
  ],
  prepare(args) {
    const format = args.switches.has("json") ? eventJson : eventLine;
    const names = resourcesOrAll(args);
    return async (locker) => {
      using interrupt = interruption();
      // Ctrl-C ends the iteration; it is the normal way to stop.
      for await (
        const event of locker.follow(names, { signal: interrupt.signal })
      ) {
        printLines(format(event));
      }
      return ExitCode.Ok;
    };
  },
};

/**
 * The plain line for an event: turn 1.0's message, unchanged.
 *
 * @param event The event.
 * @returns The line to print.
 *
 * @example Usage
 * ```ts
 * import { eventLine } from "./follow.ts";
 * console.log(eventLine({
 *   resource: "printer", kind: "started", number: 1, time: Date.now(),
 *   message: "printer: 1 started",
 * }));
 * ```
 */
export function eventLine(event: TurnEvent): string {
  return event.message;
}

/**
 * The `--json` line for an event, with the same fields every time (`number`
 * and `label` are `null` when the event has none; `time` is milliseconds
 * since the epoch).
 *
 * @param event The event.
 * @returns One line of JSON.
 *
 * @example Usage
 * ```ts
 * import { eventJson } from "./follow.ts";
 * console.log(eventJson({
 *   resource: "printer", kind: "started", number: 1, time: 0,
 *   message: "printer: 1 started",
 * }));
 * // {"resource":"printer","number":1,"kind":"started","label":null,"fence":null,"time":0}
 * ```
 */
export function eventJson(event: TurnEvent): string {
  return JSON.stringify({
    resource: event.resource,
    number: event.number ?? null,
    kind: event.kind,
    label: event.label ?? null,
    fence: event.fence === undefined ? null : String(event.fence),
    time: event.time,
  });
}
