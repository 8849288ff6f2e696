/**
 * `GET /metrics`: the dashboard's view in the Prometheus text format
 * (version 0.0.4). Gauges per resource describe the queues now; counters and
 * histograms count what the dashboard has seen since it started.
 *
 * @module
 */

import {
  BUCKETS_SECONDS,
  type CountKind,
  type History,
  type TimeKind,
} from "./history.ts";
import type { Health } from "./health.ts";
import type { ResourceView } from "./track.ts";

/** The content type of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const HEALTHS: readonly Health[] = ["ok", "slow", "stuck"];

const COUNTERS: Readonly<Record<CountKind, [name: string, help: string]>> = {
  grants: ["turn_observed_grants_total", "Turns that started"],
  gaveUp: [
    "turn_observed_gave_up_total",
    "Waiters that left before their turn (timeout or cancel)",
  ],
  crashes: [
    "turn_observed_crashes_total",
    "Turns that ended with the critical section failing (crashed!)",
  ],
  lapses: [
    "turn_observed_lapses_total",
    "Users whose presence ran out: waiters that lapsed and holders skipped without releasing",
  ],
  resets: ["turn_observed_resets_total", "Runs of the reset tool"],
  bumps: [
    "turn_observed_bumps_total",
    "Bumps by waiters that heard no news for their patience",
  ],
};

const HISTOGRAMS: Readonly<Record<TimeKind, [name: string, help: string]>> = {
  wait: [
    "turn_observed_wait_seconds",
    "Time from joining a queue to getting the turn",
  ],
  hold: [
    "turn_observed_hold_seconds",
    "Time from getting the turn to releasing it",
  ],
  gap: [
    "turn_observed_handoff_gap_seconds",
    "Time from a turn ending to the next one starting, when someone was waiting",
  ],
};

/**
 * Escapes a label value: backslash, double quote and line feed.
 *
 * @example
 * ```ts
 * import { escapeLabel } from "./metrics.ts";
 * console.log(escapeLabel('say "hi"')); // say \"hi\"
 * ```
 */
export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

function family(name: string, type: string, help: string): string[] {
  return [`# HELP ${name} ${help}.`, `# TYPE ${name} ${type}`];
}

function perResource(
  name: string,
  help: string,
  views: readonly ResourceView[],
  value: (view: ResourceView) => number,
): string[] {
  return [
    ...family(name, "gauge", help),
    ...views.map((view) =>
      `${name}{resource="${escapeLabel(view.resource)}"} ${value(view)}`
    ),
  ];
}

function histogram(
  name: string,
  help: string,
  history: History,
  kind: TimeKind,
) {
  const { buckets, sum, count } = history.histogram(kind);
  return [
    ...family(name, "histogram", help),
    ...BUCKETS_SECONDS.map((le, i) =>
      `${name}_bucket{le="${le}"} ${buckets[i]}`
    ),
    `${name}_bucket{le="+Inf"} ${count}`,
    `${name}_sum ${sum}`,
    `${name}_count ${count}`,
  ];
}

/**
 * The metrics page for the queues now and the history so far.
 *
 * @param views Every queue's view.
 * @param history What the dashboard has seen.
 * @param now Milliseconds since the epoch.
 * @param up Whether the last read of the queues worked.
 * @returns The page, ending in a newline.
 *
 * @example
 * ```ts
 * import { History } from "./history.ts";
 * import { renderMetrics } from "./metrics.ts";
 * console.log(renderMetrics([], new History(0), 1_000, true));
 * ```
 */
export function renderMetrics(
  views: readonly ResourceView[],
  history: History,
  now: number,
  up: boolean,
): string {
  const sorted = [...views].sort((a, b) =>
    a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0
  );
  const totals = history.totals();
  const lines = [
    ...family(
      "turn_up",
      "gauge",
      "Whether the dashboard's last read of the queues worked (1) or not (0)",
    ),
    `turn_up ${up ? 1 : 0}`,
    ...perResource(
      "turn_queue_length",
      "Tickets in the queue (dispenser - indicator + 1), live or not",
      sorted,
      (view) => view.size,
    ),
    ...perResource(
      "turn_holders",
      "Live users holding the turn (0 or 1; up to the capacity on a shared resource)",
      sorted,
      (view) => (view.holder ? 1 : 0) + view.alsoHolding.length,
    ),
    ...perResource(
      "turn_waiters",
      "Live users waiting for the turn",
      sorted,
      (view) => view.waiters.length,
    ),
    ...perResource(
      "turn_oldest_wait_seconds",
      "How long the longest waiter has waited (at least), 0 if nobody waits",
      sorted,
      (view) => {
        const first = view.waiters[0];
        return first ? Math.max(0, (now - first.since) / 1_000) : 0;
      },
    ),
    ...family(
      "turn_health",
      "gauge",
      "The queue's health verdict: 1 for the state it is in, 0 for the others",
    ),
    ...sorted.flatMap((view) =>
      HEALTHS.map((state) =>
        `turn_health{resource="${
          escapeLabel(view.resource)
        }",state="${state}"} ${view.health === state ? 1 : 0}`
      )
    ),
    ...Object.entries(COUNTERS).flatMap(([kind, [name, help]]) => [
      ...family(name, "counter", `${help}, seen since the dashboard started`),
      `${name} ${totals[kind as CountKind]}`,
    ]),
    ...Object.entries(HISTOGRAMS).flatMap(([kind, [name, help]]) =>
      histogram(
        name,
        `${help}, seen since the dashboard started`,
        history,
        kind as TimeKind,
      )
    ),
  ];
  return lines.join("\n") + "\n";
}
