/**
 * turn 1.0's `status` text: a label left-aligned in 50 columns and a number
 * right-aligned in 10, a 60-dash separator, a blank line before each name
 * after the first.
 *
 * @module
 */

import type { PlacesStatus, ResourceStatus, UserStatus } from "../../../mod.ts";

const SEPARATOR = "-".repeat(60);

/**
 * Formats resources the way `turn status NAME...` prints them, as turn 1.0
 * does: for each name given, in that order, a blank line unless it is the
 * first, then, if it has a queue, a header (name, current number), the
 * separator and one line per present user (label, number) in number order.
 * A dead head (see {@linkcode deadHead}) gets a line of its own, where turn
 * 1.0 shows none.
 *
 * @param names The names as given, duplicates included.
 * @param statuses The queues of those that have one.
 * @returns The lines to print.
 *
 * @example Usage
 * ```ts
 * import { formatResources } from "./status_table.ts";
 * const lines = formatResources(["printer", "scanner"], [{
 *   resource: "printer", indicator: 1, dispenser: 1, size: 1,
 *   users: [{ number: 1, label: "report 42", ttl: 60_000 }], fence: 7n,
 * }]);
 * console.log(lines.join("\n"));
 * ```
 */
export function formatResources(
  names: readonly string[],
  statuses: readonly ResourceStatus[],
): string[] {
  const byName = new Map(statuses.map((status) => [status.resource, status]));
  return names.flatMap((name, i) => {
    const status = byName.get(name);
    return [...(i === 0 ? [] : [""]), ...(status ? table(status) : [])];
  });
}

function table(status: ResourceStatus): string[] {
  const gone = deadHead(status);
  return [
    row(status.resource, status.indicator),
    SEPARATOR,
    ...(status.places ? [placesLine(status.places)] : []),
    ...(gone === undefined ? [] : [row(DEAD_HEAD, gone)]),
    ...[...status.users]
      .sort((a, b) => a.number - b.number)
      .map((user) => row(userLabel(user), user.number)),
  ];
}

// A plain user's line stays turn 1.0's; a shared one says how it holds.
function userLabel(user: UserStatus): string {
  const notes = [
    ...(user.holding ? ["holding"] : []),
    ...(user.kind === "exclusive" ? ["alone"] : []),
  ];
  return user.kind === undefined || notes.length === 0
    ? user.label
    : `${user.label} (${notes.join(", ")})`;
}

/**
 * A shared resource's capacity and places, in words.
 *
 * @param places The places of a shared resource's status.
 * @returns E.g. `capacity 3: 2 holding, 1 place left`.
 *
 * @example Usage
 * ```ts
 * import { placesLine } from "./status_table.ts";
 * console.log(placesLine({ capacity: 3, holders: 2, placesLeft: 1 }));
 * ```
 */
export function placesLine(places: PlacesStatus): string {
  const { capacity, holders, placesLeft } = places;
  const left = placesLeft === null
    ? ""
    : `, ${placesLeft} place${placesLeft === 1 ? "" : "s"} left`;
  return `${
    capacity === null ? "shared, no limit" : `capacity ${capacity}`
  }: ${holders} holding${left}`;
}

/**
 * How a dead head is shown in place of a label.
 *
 * @example Usage
 * ```ts
 * import { DEAD_HEAD } from "./status_table.ts";
 * console.log(DEAD_HEAD);
 * ```
 */
export const DEAD_HEAD = "(gone: the next user skips it)";

/**
 * The number whose turn it is when nobody holds it: its user went away
 * without releasing (e.g. killed, and its presence has lapsed). Nothing
 * waits for it: the next user to draw a number or look at the queue skips
 * it at once.
 *
 * @param status A queue.
 * @returns The dead head's number, or `undefined` if there is none.
 *
 * @example Usage
 * ```ts
 * import { deadHead } from "./status_table.ts";
 * console.log(deadHead({
 *   resource: "printer", indicator: 1, dispenser: 1, size: 1, users: [],
 *   fence: 7n,
 * })); // 1
 * ```
 */
export function deadHead(status: ResourceStatus): number | undefined {
  const { indicator, dispenser, users } = status;
  // A shared queue's head is its first live user: dead ones are not shown.
  if (indicator > dispenser || status.places) return undefined;
  return users.some((user) => user.number === indicator)
    ? undefined
    : indicator;
}

/**
 * Formats resources the way `turn status` (no names) prints them: a
 * `Resource` / `Queue size` header, the separator, then one line per resource,
 * largest queue first (ties by name).
 *
 * @param statuses Every resource.
 * @returns The lines to print.
 *
 * @example Usage
 * ```ts
 * import { formatQueueSizes } from "./status_table.ts";
 * const lines = formatQueueSizes([
 *   { resource: "printer", indicator: 3, dispenser: 4, size: 2, users: [], fence: 7n },
 * ]);
 * console.log(lines.join("\n"));
 * ```
 */
export function formatQueueSizes(
  statuses: readonly ResourceStatus[],
): string[] {
  const bySize = [...statuses].sort((a, b) =>
    b.size - a.size || compareNames(a.resource, b.resource)
  );
  return [
    row("Resource", "Queue size"),
    SEPARATOR,
    ...bySize.map((status) => row(status.resource, status.size)),
  ];
}

// Pads by code points, as Python's str.format does, not by UTF-16 units.
function row(label: string, value: string | number): string {
  const text = String(value);
  return label + spaces(50, label) + spaces(10, text) + text;
}

function spaces(width: number, text: string): string {
  return " ".repeat(Math.max(0, width - [...text].length));
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
