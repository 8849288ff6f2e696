/**
 * The health verdict of one queue: ok, slow or stuck, by a rule simple
 * enough to state on the page.
 *
 * @module
 */

import { checkDuration } from "../validate.ts";

/**
 * A queue's health.
 *
 * @example
 * ```ts
 * import type { Health } from "./health.ts";
 * const health: Health = "slow";
 * ```
 */
export type Health = "ok" | "slow" | "stuck";

/**
 * When a queue counts as slow or stuck, in milliseconds.
 *
 * @example
 * ```ts
 * import type { HealthRule } from "./health.ts";
 * const rule: HealthRule = { slowAfter: 5_000, stuckAfter: 30_000 };
 * ```
 */
export interface HealthRule {
  /** Someone waits and the turn has not moved for this long: slow. Default 10 s. */
  readonly slowAfter: number;
  /** Someone waits and the turn has not moved for this long: stuck. Default 60 s. */
  readonly stuckAfter: number;
}

/** The rule when none is given. */
export const DEFAULT_HEALTH_RULE: HealthRule = {
  slowAfter: 10_000,
  stuckAfter: 60_000,
};

/** Checks a partial rule and fills in the defaults. */
export function healthRule(rule: Partial<HealthRule> = {}): HealthRule {
  const slowAfter = rule.slowAfter === undefined
    ? DEFAULT_HEALTH_RULE.slowAfter
    : checkDuration("slowAfter", rule.slowAfter);
  const stuckAfter = rule.stuckAfter === undefined
    ? Math.max(DEFAULT_HEALTH_RULE.stuckAfter, slowAfter)
    : checkDuration("stuckAfter", rule.stuckAfter);
  if (stuckAfter < slowAfter) {
    throw new RangeError(
      `stuckAfter must be at least slowAfter (${slowAfter} ms): got ${stuckAfter}`,
    );
  }
  return { slowAfter, stuckAfter };
}

/** What the verdict is based on. */
export interface HealthFacts {
  /** Live users waiting behind the turn. */
  readonly waiting: number;
  /** Milliseconds since the turn last moved (a lower bound if unknown). */
  readonly unmovedFor: number;
  /** Whether the number whose turn it is looks dead (gone or not renewing). */
  readonly deadHead: boolean;
}

/** A verdict and its reason, in words. */
export interface Verdict {
  readonly health: Health;
  readonly reason: string;
}

/**
 * Judges a queue: stuck if someone waits and the turn has not moved for
 * `stuckAfter`; slow if someone waits and it has not moved for `slowAfter`,
 * or the head looks dead; ok otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_HEALTH_RULE, judge } from "./health.ts";
 * const verdict = judge({ waiting: 2, unmovedFor: 75_000, deadHead: false }, DEFAULT_HEALTH_RULE);
 * console.log(verdict.health); // "stuck"
 * ```
 */
export function judge(facts: HealthFacts, rule: HealthRule): Verdict {
  const { waiting, unmovedFor, deadHead } = facts;
  // Reasons name the threshold, not the time: they change only with the
  // verdict, so a page is sent news only when something changed.
  if (waiting === 0) return { health: "ok", reason: "nobody waits" };
  const unmoved = (after: number) =>
    `${waiting} waiting, turn unmoved for ${seconds(after)} or more`;
  if (unmovedFor >= rule.stuckAfter) {
    return { health: "stuck", reason: unmoved(rule.stuckAfter) };
  }
  if (deadHead) {
    return { health: "slow", reason: `${waiting} waiting behind a dead head` };
  }
  if (unmovedFor >= rule.slowAfter) {
    return { health: "slow", reason: unmoved(rule.slowAfter) };
  }
  return { health: "ok", reason: `${waiting} waiting, turns moving` };
}

/**
 * The rule in words, as the page states it.
 *
 * @example
 * ```ts
 * import { DEFAULT_HEALTH_RULE, describeRule } from "./health.ts";
 * console.log(describeRule(DEFAULT_HEALTH_RULE));
 * ```
 */
export function describeRule(rule: HealthRule): string {
  return `stuck: someone waits and the turn has not moved for ${
    seconds(rule.stuckAfter)
  } or more. slow: someone waits and the turn has not moved for ${
    seconds(rule.slowAfter)
  } or more, or the number whose turn it is looks dead (its user is gone, or its lease is running out unrenewed). ok: otherwise, including when nobody waits.`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1_000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}
