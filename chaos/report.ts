/**
 * What a chaos run prints: each violation with the events around it, and a
 * summary with the figures the README's guarantees quote.
 *
 * @module
 */

import { BOUNDS, type CheckResult, type Violation } from "./checker.ts";
import type { ChaosEvent, RunSettings } from "./history.ts";

/** Events shown before a violation, and after it. */
const BEFORE_MS = 4000;
const AFTER_MS = 3000;
const MAX_LINES = 40;

/**
 * The figures of one run.
 *
 * @example
 * ```ts
 * import { summarize } from "./report.ts";
 * const summary = summarize([], { violations: [], recoveries: [], worstFreeWait: 0 });
 * ```
 */
export interface Summary {
  readonly operations: number;
  readonly grants: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly violations: Readonly<Record<string, number>>;
  /** The recovery that came closest to its bound (took / bound). */
  readonly worstRecovery?: { took: number; bound: number; who: string };
  readonly worstFreeWait: number;
}

function countBy<T>(items: readonly T[], key: (item: T) => string) {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/**
 * Counts what a run did and found.
 *
 * @example
 * ```ts
 * import { summarize } from "./report.ts";
 * const { operations } = summarize([], {
 *   violations: [],
 *   recoveries: [],
 *   worstFreeWait: 0,
 * });
 * ```
 */
export function summarize(
  events: readonly ChaosEvent[],
  result: CheckResult,
): Summary {
  const worst =
    [...result.recoveries].sort((a, b) =>
      b.took / b.bound - a.took / a.bound
    )[0];
  return {
    operations: events.filter((e) => e.kind === "op").length,
    grants: events.filter((e) => e.kind === "granted").length,
    faults: countBy(
      events.filter((e) => e.kind === "fault"),
      (e) => (e as ChaosEvent & { kind: "fault" }).fault,
    ),
    violations: countBy(result.violations, (v) => v.property),
    worstRecovery: worst &&
      { took: Math.round(worst.took), bound: worst.bound, who: worst.who },
    worstFreeWait: Math.round(result.worstFreeWait),
  };
}

/**
 * The events around `violation` that concern its users and resource.
 *
 * @example
 * ```ts
 * import { excerpt } from "./report.ts";
 * const lines = excerpt([], {
 *   property: "leftover",
 *   at: 0,
 *   who: [],
 *   message: "turn:r0:dispenser",
 * });
 * ```
 */
export function excerpt(
  events: readonly ChaosEvent[],
  violation: Violation,
): string[] {
  const involved = (event: ChaosEvent) =>
    event.kind !== "alive" && (
      violation.who.includes(event.who) ||
      ("target" in event && violation.who.includes(event.target ?? "")) ||
      ("resource" in event && event.resource === violation.resource) ||
      event.kind === "fault" || event.kind === "redis-up" ||
      event.kind === "sigcont"
    );
  const start = Math.min(violation.from ?? Infinity, violation.at - BEFORE_MS);
  const before = events.filter((e) =>
    e.t >= start && e.t <= violation.at && involved(e)
  );
  const after = events.filter((e) =>
    e.t > violation.at && e.t <= violation.at + AFTER_MS && involved(e)
  );
  // What led up to it (its first lines too, when it began long before),
  // then a little of what followed.
  const tail = after.slice(0, MAX_LINES / 4).map(line);
  const room = MAX_LINES - tail.length;
  const head = before.length > room
    ? [
      ...before.slice(0, room / 4).map(line),
      "  ...",
      ...before.slice(-(room - room / 4)).map(line),
    ]
    : before.map(line);
  return [...head, ...tail];
}

function line(event: ChaosEvent): string {
  const { t, who, kind, ...rest } = event;
  const time = new Date(t).toISOString().slice(11, 23);
  return `  ${time} ${who.padEnd(8)} ${kind.padEnd(9)} ${JSON.stringify(rest)}`;
}

/**
 * The report of a run: violations with their excerpts, then the summary.
 *
 * @example
 * ```ts
 * import { report } from "./report.ts";
 * const text = report(
 *   { seed: 7, seconds: 1, backend: "file", workers: 1, resources: ["r0"] },
 *   [],
 *   { violations: [], recoveries: [], worstFreeWait: 0 },
 * );
 * ```
 */
export function report(
  settings: RunSettings,
  events: readonly ChaosEvent[],
  result: CheckResult,
): string {
  const replay =
    `deno task chaos --seed ${settings.seed} --seconds ${settings.seconds} --backend ${settings.backend} --workers ${settings.workers} --resources ${settings.resources.length}`;
  const out: string[] = [];
  for (const violation of result.violations) {
    out.push(
      `VIOLATION ${violation.property} (seed ${settings.seed}): ${violation.message}`,
      ...excerpt(events, violation),
      "",
    );
  }
  const s = summarize(events, result);
  const recovery = s.worstRecovery
    ? `${s.worstRecovery.took} ms against its bound of ${s.worstRecovery.bound} ms (${s.worstRecovery.who})`
    : "no holder died with a waiter behind it";
  out.push(
    `chaos: seed ${settings.seed}, ${settings.seconds} s, ${settings.backend} backend, ${settings.workers} workers, resources ${
      settings.resources.join(" ")
    }`,
    `  operations ${s.operations}, grants ${s.grants}`,
    `  faults ${JSON.stringify(s.faults)}`,
    `  worst recovery after a holder died: ${recovery}`,
    `  worst wait with the turn free: ${s.worstFreeWait} ms (bound ${BOUNDS.livenessSlack} ms)`,
    result.violations.length
      ? `  VIOLATIONS ${JSON.stringify(s.violations)}; replay: ${replay}`
      : `  no violations`,
  );
  return out.join("\n");
}

function add(
  into: Record<string, number>,
  from: Readonly<Record<string, number>>,
): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

/**
 * The totals of several runs with the same settings but their seeds.
 *
 * @example
 * ```ts
 * import { totals } from "./report.ts";
 * const text = totals(
 *   { seed: 1, seconds: 20, backend: "redis", workers: 5, resources: ["r0"] },
 *   [],
 * );
 * ```
 */
export function totals(
  settings: RunSettings,
  summaries: readonly Summary[],
): string {
  const faults: Record<string, number> = {};
  const violations: Record<string, number> = {};
  summaries.forEach((s) => {
    add(faults, s.faults);
    add(violations, s.violations);
  });
  const clean = summaries.filter((s) => !Object.keys(s.violations).length);
  const worst = summaries.map((s) => s.worstRecovery)
    .filter((r) => r !== undefined)
    .sort((a, b) => b.took / b.bound - a.took / a.bound)[0];
  const sum = (pick: (s: Summary) => number) =>
    summaries.reduce((total, s) => total + pick(s), 0);
  const last = settings.seed + summaries.length - 1;
  return [
    `chaos totals: seeds ${settings.seed}..${last} x ${settings.seconds} s, ${settings.backend} backend, ${settings.workers} workers`,
    `  runs clean ${clean.length} of ${summaries.length}`,
    `  operations ${sum((s) => s.operations)}, grants ${sum((s) => s.grants)}`,
    `  faults ${JSON.stringify(faults)} (${
      Object.values(faults).reduce((a, b) => a + b, 0)
    } in all)`,
    `  violations ${JSON.stringify(violations)}`,
    `  worst recovery after a holder died: ${
      worst ? `${worst.took} ms against its bound of ${worst.bound} ms` : "none"
    }`,
    `  worst wait with the turn free: ${
      Math.max(0, ...summaries.map((s) => s.worstFreeWait))
    } ms (bound ${BOUNDS.livenessSlack} ms)`,
  ].join("\n");
}
