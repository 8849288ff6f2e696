/**
 * The messages every backend publishes about a queue, in the same words:
 * what happened (`"<r>: 7 started"`) and how a user leaves. Redis publishes
 * them on a resource's external channel, the file backend writes them to
 * its followers' inboxes; turn 1.0 clients read the same texts.
 *
 * @module
 */

/**
 * What an external message says happened.
 *
 * @example
 * ```ts
 * import type { EventKind } from "./messages.ts";
 * const kind: EventKind = "granted";
 * ```
 */
export type EventKind =
  | "assigned"
  | "started"
  | "completed"
  | "granted"
  | "bumps"
  | "crashed"
  | "left"
  | "lapsed"
  | "reset";

/** One parsed external message. */
export interface ParsedMessage {
  readonly kind: EventKind;
  readonly number?: number;
  readonly label?: string;
  /** The fencing token a `started` message names (turn 1.0's names none). */
  readonly fence?: bigint;
}

const MESSAGE_FORMS: ReadonlyArray<[RegExp, EventKind]> = [
  [/^(\d+) assigned to "(.*)"$/s, "assigned"],
  [/^(\d+) started(?: \(fence (?<fence>\d+)\))?$/, "started"],
  [/^(\d+) completed by "(.*)"$/s, "completed"],
  [/^(\d+) granted$/, "granted"],
  [/^(\d+) bumps$/, "bumps"],
  [/^(\d+) crashed!$/, "crashed"],
  [/^(\d+) left$/, "left"],
  [/^(\d+) lapsed$/, "lapsed"],
  [/^()Reset tool bumps\.$/, "reset"],
];

const MESSAGE_TEXTS: Readonly<
  Record<EventKind, (n: number, label: string, fence?: bigint) => string>
> = {
  assigned: (n, label) => `${n} assigned to "${label}"`,
  started: (n, _, fence) =>
    fence === undefined ? `${n} started` : `${n} started (fence ${fence})`,
  completed: (n, label) => `${n} completed by "${label}"`,
  granted: (n) => `${n} granted`,
  bumps: (n) => `${n} bumps`,
  crashed: (n) => `${n} crashed!`,
  left: (n) => `${n} left`,
  lapsed: (n) => `${n} lapsed`,
  reset: () => "Reset tool bumps.",
};

/**
 * The external message of `resource` for an event, as the Lua scripts
 * publish it (`"<r>: 7 started"`). The file backend writes the same texts.
 */
export function formatMessage(
  resource: string,
  kind: EventKind,
  number = 0,
  label = "",
  fence?: bigint,
): string {
  return `${resource}: ${MESSAGE_TEXTS[kind](number, label, fence)}`;
}

/**
 * Parses an external message of `resource` (`"<r>: 7 started"`), or returns
 * `undefined` for a message this protocol does not define.
 */
export function parseMessage(
  resource: string,
  payload: string,
): ParsedMessage | undefined {
  const head = `${resource}: `;
  if (!payload.startsWith(head)) return undefined;
  const text = payload.slice(head.length);
  for (const [form, kind] of MESSAGE_FORMS) {
    const match = form.exec(text);
    if (!match) continue;
    const number = match[1] ? Number(match[1]) : undefined;
    const fence = match.groups?.fence;
    if (fence !== undefined) return { kind, number, fence: BigInt(fence) };
    return match[2] === undefined ? { kind, number } : {
      kind,
      number,
      label: match[2],
    };
  }
  return undefined;
}

/**
 * How a user leaves the queue: as holder (`completed`, `crashed`) or as
 * waiter (`left`). A holder whose lease was lost leaves the same way: the
 * backend checks whether the turn is still its own (Redis by the draw token,
 * files by the presence file).
 */
export type Outcome = "completed" | "crashed" | "left";
