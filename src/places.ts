/**
 * The status of a shared queue, the same for every backend: its live users
 * with how they hold, its capacity and the places left.
 *
 * @module
 */

import { NO_LIMIT } from "./grant_rule.ts";
import type { ResourceStatus, UserStatus } from "./types.ts";

/**
 * The status of a shared queue from its live users (in number order) and
 * the resource's last fencing token: the first live number stands for the
 * indicator.
 *
 * @example
 * ```ts
 * import { placesStatus } from "./places.ts";
 * const status = placesStatus("gpu", 3, 4, [
 *   { number: 4, label: "a", ttl: -1, kind: "shared", holding: true },
 * ], 0n);
 * console.assert(status.places?.placesLeft === 2);
 * ```
 */
export function placesStatus(
  resource: string,
  capacity: number,
  last: number,
  users: readonly UserStatus[],
  fence: bigint,
): ResourceStatus {
  const holders = users.filter((u) => u.holding);
  const alone = holders.some((u) => u.kind === "exclusive");
  const indicator = users[0]?.number ?? last + 1;
  return {
    resource,
    indicator,
    dispenser: last,
    size: Math.max(0, last - indicator + 1),
    users,
    fence,
    places: {
      capacity: capacity === NO_LIMIT ? null : capacity,
      holders: holders.length,
      placesLeft: alone
        ? 0
        : capacity === NO_LIMIT
        ? null
        : Math.max(0, capacity - holders.length),
    },
  };
}
