/**
 * `turn status`: who holds each resource and who waits, in turn 1.0's table,
 * as JSON, or as a live view.
 *
 * @module
 */

import { resourcesOrAll } from "../flags/parse.ts";
import type { Command } from "./command.ts";
import { ExitCode, UsageError } from "../errors.ts";
import {
  deadHead,
  formatQueueSizes,
  formatResources,
} from "../view/status_table.ts";
import { watch } from "./status_watch.ts";
import type { ResourceStatus } from "../../../mod.ts";
import { printLines } from "../output.ts";

/**
 * The `status` command.
 *
 * @example Usage
 * ```ts
 * import { statusCommand } from "./status.ts";
 * console.log(statusCommand.usage);
 * ```
 */
export const statusCommand: Command = {
  name: "status",
  summary: "Show holders and queues",
  usage: "status [--json | --watch] [RESOURCE...]",
  description:
    `With names, prints each resource's current number and its users (label, number), as turn 1.0 does.
Names with no queue print only the blank line before them (as in turn 1.0). A number whose user is gone (killed,
presence lapsed) shows as "(gone: the next user skips it)". With no names, prints every resource's queue size, largest first.
--watch redraws on every change until Ctrl-C, SIGTERM or SIGHUP: the holder and how long it has held, the waiters and how long
they have waited. Redis keeps no timestamps, so users already there when the watch starts show ">=" times
(held or waiting since at least then). On a pipe, --watch prints a frame per change instead of redrawing.`,
  flags: {
    json: {
      type: "boolean",
      description:
        'Print JSON: [{"resource","indicator","dispenser","size","fence","deadHead","users":[{"number","label","ttl"}]}]; shared resources add "places":{"capacity","holders","placesLeft"} and each user "kind" and "holding", e.g. turn status --json printer',
    },
    watch: {
      type: "boolean",
      description:
        "Keep showing holders and waiters with their times (honours NO_COLOR), e.g. turn status --watch",
    },
  },
  examples: [
    ["turn status printer scanner", "users of two resources"],
    ["turn status", "queue sizes of every resource"],
    ["turn status --json printer | jq '.[0].users'", "users as JSON"],
    ["turn status --watch", "live view of every resource"],
  ],
  prepare(args) {
    const json = args.switches.has("json");
    if (json && args.switches.has("watch")) {
      throw new UsageError(
        "--json and --watch cannot be combined: got --json --watch",
      );
    }
    const names = resourcesOrAll(args);
    return async (locker) => {
      if (args.switches.has("watch")) return await watch(locker, names);
      const statuses = await locker.status(names);
      const lines = json
        ? [statusJson(statuses)]
        : names === undefined
        ? formatQueueSizes(statuses)
        : formatResources(names, statuses);
      printLines(...lines);
      return ExitCode.Ok;
    };
  },
};

function deadHeadJson(
  status: ResourceStatus,
): { number: number; skipped: string } | null {
  const number = deadHead(status);
  return number === undefined
    ? null
    : { number, skipped: "at once, by the next user to draw or wait" };
}

/**
 * Resources as `--json` prints them, with fixed field names (`ttl` in
 * milliseconds; `fence` a decimal string, since tokens can outgrow a JSON
 * number's exact range: compare them as integers).
 *
 * @param statuses The resources.
 * @returns The JSON text.
 *
 * @example Usage
 * ```ts
 * import { statusJson } from "./status.ts";
 * console.log(statusJson([
 *   { resource: "printer", indicator: 1, dispenser: 1, size: 1, users: [], fence: 7n },
 * ]));
 * ```
 */
export function statusJson(statuses: readonly ResourceStatus[]): string {
  return JSON.stringify(
    statuses.map((status) => ({
      resource: status.resource,
      indicator: status.indicator,
      dispenser: status.dispenser,
      size: status.size,
      fence: String(status.fence),
      deadHead: deadHeadJson(status),
      ...(status.places ? { places: status.places } : {}),
      users: status.users.map(({ number, label, ttl, kind, holding }) => ({
        number,
        label,
        ttl,
        ...(kind === undefined ? {} : { kind, holding }),
      })),
    })),
    null,
    2,
  );
}
