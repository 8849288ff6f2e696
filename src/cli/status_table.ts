/**
 * turn 1.0's `status` text: a label left-aligned in 50 columns and a number
 * right-aligned in 10, a 60-dash separator, a blank line between resources.
 *
 * @module
 */

import type { ResourceStatus } from "../../mod.ts";

const SEPARATOR = "-".repeat(60);

/**
 * Formats resources the way `turn status NAME...` prints them: per resource a
 * header (name, current number), the separator and one line per present user
 * (label, number) in number order.
 *
 * @param statuses The resources to show, in the order to show them.
 * @returns The lines to print.
 *
 * @example Usage
 * ```ts
 * import { formatResources } from "./status_table.ts";
 * const lines = formatResources([{
 *   resource: "printer", indicator: 1, dispenser: 1, size: 1,
 *   users: [{ number: 1, label: "report 42", ttl: 60_000 }],
 * }]);
 * console.log(lines.join("\n"));
 * ```
 */
export function formatResources(
  statuses: readonly ResourceStatus[],
): string[] {
  return statuses.flatMap((status, i) => [
    ...(i === 0 ? [] : [""]),
    row(status.resource, status.indicator),
    SEPARATOR,
    ...[...status.users]
      .sort((a, b) => a.number - b.number)
      .map((user) => row(user.label, user.number)),
  ]);
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
 *   { resource: "printer", indicator: 3, dispenser: 4, size: 2, users: [] },
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
