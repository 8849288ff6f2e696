/**
 * The grant rule of shared turns: which users of a resource hold it, given
 * its queue of live tickets. The Redis scripts and the file backend apply
 * this rule; PROTOCOL.md ("Shared turns") states it in prose.
 *
 * @module
 */

/**
 * How a ticket holds: beside other shared tickets (up to the capacity), or
 * alone.
 */
export type TurnKind = "shared" | "exclusive";

/** The capacity that sets no limit on shared holders. */
export const NO_LIMIT = 0;

/** One live ticket in a queue, as the grant rule sees it. */
export interface QueuedTurn {
  /** The ticket's number: queue order. */
  readonly number: number;
  readonly kind: TurnKind;
}

/**
 * How many tickets at the head of `queue` hold, `queue` being the live
 * tickets in number order. The holders are always a head run: an exclusive
 * ticket at the head holds alone; otherwise the shared tickets at the head
 * hold together, at most `capacity` of them (`NO_LIMIT`: all), and the run
 * stops at the first exclusive ticket. So places go in ticket order, a
 * place freed out of order goes to the next ticket, and a waiting exclusive
 * ticket stops every later one: readers cannot starve a writer.
 *
 * @example
 * ```ts
 * import { holderCount } from "./grant_rule.ts";
 * const queue = [
 *   { number: 1, kind: "shared" },
 *   { number: 2, kind: "shared" },
 *   { number: 3, kind: "exclusive" },
 *   { number: 4, kind: "shared" },
 * ] as const;
 * console.assert(holderCount(queue, 3) === 2);
 * ```
 */
export function holderCount(
  queue: readonly QueuedTurn[],
  capacity: number,
): number {
  if (queue.length === 0) return 0;
  if (queue[0].kind === "exclusive") return 1;
  const limit = capacity === NO_LIMIT ? queue.length : capacity;
  let count = 0;
  while (
    count < queue.length && count < limit && queue[count].kind === "shared"
  ) count++;
  return count;
}

/**
 * Whether a new ticket of `kind`, drawn behind `queue`, would hold at once:
 * what `tryLock` asks.
 *
 * @example
 * ```ts
 * import { admitsNow } from "./grant_rule.ts";
 * console.assert(admitsNow([{ number: 1, kind: "shared" }], 2, "shared"));
 * console.assert(!admitsNow([{ number: 1, kind: "shared" }], 2, "exclusive"));
 * ```
 */
export function admitsNow(
  queue: readonly QueuedTurn[],
  capacity: number,
  kind: TurnKind,
): boolean {
  const number = (queue.at(-1)?.number ?? 0) + 1;
  return holderCount([...queue, { number, kind }], capacity) > queue.length;
}
