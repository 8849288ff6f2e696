/**
 * What `turn status --watch` draws: per resource the holder and how long it
 * has held, then the waiters in order with how long they have waited.
 *
 * turn 1.0's Redis keys hold no timestamps, so the times come from the events
 * seen since the watch started; users already there at the start are shown
 * as held / waiting "since at least" then, e.g. `>=1m05s`.
 *
 * @module
 */

import { formatDuration } from "../flags/duration.ts";
import type { ResourceStatus, TurnEvent, UserStatus } from "../../../mod.ts";
import { printable } from "../output.ts";
import { DEAD_HEAD, deadHead, placesLine } from "./status_table.ts";

/**
 * Remembers when each user was seen to join a queue and to get its turn.
 *
 * @example Usage
 * ```ts
 * import { WatchTimes } from "./watch.ts";
 * const times = new WatchTimes(1_000);
 * times.observe({ resource: "printer", kind: "started", number: 1, time: 4_000, message: "printer: 1 started" });
 * console.log(times.heldSince("printer", 1)); // { time: 4000, atLeast: false }
 * console.log(times.waitingSince("printer", 2)); // { time: 1000, atLeast: true }
 * ```
 */
export class WatchTimes {
  readonly #start: number;
  readonly #waiting = new Map<string, number>();
  readonly #held = new Map<string, number>();

  /** Starts remembering at `start` (milliseconds since the epoch). */
  constructor(start: number) {
    this.#start = start;
  }

  /** Takes note of an event from `follow`. */
  observe(event: TurnEvent): void {
    if (event.number === undefined) return;
    const key = `${event.number} ${event.resource}`;
    const seen = event.kind === "assigned"
      ? this.#waiting
      : event.kind === "started" || event.kind === "granted"
      ? this.#held
      : undefined;
    if (seen !== undefined && !seen.has(key)) seen.set(key, event.time);
  }

  /** When user `number` of `resource` got its turn, as far as is known. */
  heldSince(resource: string, number: number): Since {
    return this.#since(this.#held, resource, number);
  }

  /** When user `number` of `resource` joined the queue, as far as is known. */
  waitingSince(resource: string, number: number): Since {
    return this.#since(this.#waiting, resource, number);
  }

  #since(seen: Map<string, number>, resource: string, number: number): Since {
    const time = seen.get(`${number} ${resource}`);
    return time === undefined
      ? { time: this.#start, atLeast: true }
      : { time, atLeast: false };
  }
}

/** A moment, or a lower bound on it when it came before the watch. */
export interface Since {
  /** Milliseconds since the epoch. */
  readonly time: number;
  /** Whether the real moment may be earlier than `time`. */
  readonly atLeast: boolean;
}

/** Colours for the view; identity functions when colour is off. */
export interface Style {
  /** Resource names. */
  readonly title: (text: string) => string;
  /** The holder's line. */
  readonly holder: (text: string) => string;
  /** Waiters' lines. */
  readonly waiter: (text: string) => string;
}

/**
 * No colours, for pipes and `NO_COLOR`.
 *
 * @example Usage
 * ```ts
 * import { PLAIN } from "./watch.ts";
 * console.log(PLAIN.title("printer"));
 * ```
 */
export const PLAIN: Style = {
  title: (text) => text,
  holder: (text) => text,
  waiter: (text) => text,
};

/**
 * ANSI colours for terminals: bold names, a green holder, yellow waiters.
 *
 * @example Usage
 * ```ts
 * import { COLOURED } from "./watch.ts";
 * console.log(COLOURED.holder("holder"));
 * ```
 */
export const COLOURED: Style = {
  title: (text) => `\x1b[1m${text}\x1b[22m`,
  holder: (text) => `\x1b[32m${text}\x1b[39m`,
  waiter: (text) => `\x1b[33m${text}\x1b[39m`,
};

/**
 * Draws one frame of the watch.
 *
 * @param statuses The resources, as `Locker.status()` returns them.
 * @param times What the watch has seen so far.
 * @param now Milliseconds since the epoch.
 * @param style Colours.
 * @returns The lines of the frame.
 *
 * @example Usage
 * ```ts
 * import { PLAIN, renderWatch, WatchTimes } from "./watch.ts";
 * const lines = renderWatch([{
 *   resource: "printer", indicator: 1, dispenser: 2, size: 2,
 *   users: [{ number: 1, label: "a", ttl: 60_000 }, { number: 2, label: "b", ttl: 60_000 }],
 *   fence: 7n,
 * }], new WatchTimes(0), 65_000, PLAIN);
 * console.log(lines.join("\n"));
 * ```
 */
export function renderWatch(
  statuses: readonly ResourceStatus[],
  times: WatchTimes,
  now: number,
  style: Style,
): string[] {
  const header = `turn status --watch, ${
    new Date(now).toISOString().slice(0, 19)
  }Z`;
  if (statuses.length === 0) return [header, "no queues"];
  return [
    header,
    ...statuses.flatMap((status) => [
      "",
      style.title(printable(status.resource)),
      ...resourceLines(status, times, now, style),
    ]),
  ];
}

function resourceLines(
  status: ResourceStatus,
  times: WatchTimes,
  now: number,
  style: Style,
): string[] {
  const { resource, indicator, users } = status;
  const sorted = [...users].sort((a, b) => a.number - b.number);
  const holds = (user: UserStatus) => user.holding ?? user.number === indicator;
  const waiters = sorted.filter((user) => !holds(user)).map((user) =>
    style.waiter(
      userLine("waiting", user, times.waitingSince(resource, user.number), now),
    )
  );
  const lines = status.places
    ? [`  ${placesLine(status.places)}`, ...waiters]
    : waiters;
  const holders = sorted.filter(holds);
  if (status.places && holders.length > 0) {
    return [
      ...holders.map((user) =>
        style.holder(
          userLine(
            "holding",
            user,
            times.heldSince(resource, user.number),
            now,
          ),
        )
      ),
      ...lines,
    ];
  }
  const holder = holders[0];
  if (holder === undefined) {
    const gone = deadHead(status);
    return [
      gone === undefined
        ? "  nobody holds it"
        : `  ${"gone".padEnd(7)} ${String(gone).padStart(6)}  ${
          "".padStart(9)
        }  ${DEAD_HEAD}`,
      ...lines,
    ];
  }
  const since = times.heldSince(resource, holder.number);
  return [style.holder(userLine("holding", holder, since, now)), ...lines];
}

function userLine(
  role: string,
  user: { number: number; label: string },
  since: Since,
  now: number,
): string {
  const time = (since.atLeast ? ">=" : "") + formatDuration(now - since.time);
  return `  ${role} ${String(user.number).padStart(6)}  ${time.padStart(9)}  ${
    printable(user.label)
  }`;
}
