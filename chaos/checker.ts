/**
 * The checker: reads a history and reports every violation of turn's
 * guarantees. Each rule is stated where it is checked; the bounds it uses
 * are in {@linkcode BOUNDS}.
 *
 * @module
 */

import type { ChaosEvent } from "./history.ts";
import {
  gather,
  type Grant,
  merge,
  type Model,
  type Op,
  settledAt,
  stoppedWithin,
  type User,
} from "./model.ts";
import { NO_LIMIT } from "../src/grant_rule.ts";

/**
 * The slack each timed guarantee is checked with, in ms.
 *
 * @example
 * ```ts
 * import { BOUNDS } from "./checker.ts";
 * console.log(`a timeout is honoured within ${BOUNDS.timeoutSlack} ms`);
 * ```
 */
export const BOUNDS = {
  /** A live waiter is granted within this long once the turn is free. */
  livenessSlack: 2000,
  /** A timeout or an abort settles the call within this long. */
  timeoutSlack: 1000,
  /** The processes' clocks may differ by this much. */
  clockSkew: 2,
  /**
   * A holder frozen while Redis restarted empty hears of the dropped
   * connection within this long of running again.
   */
  restartHeard: 1000,
} as const;

/** The accepted reasons for a call to reject. */
const EXPECTED_ERRORS = new Set([
  "TimeoutError",
  "LeaseLostError",
  "ConnectionError",
  "ChaosAbort",
  "ChaosFinish",
  "Turn1Down",
  "Turn1GaveUp",
]);

/**
 * The guarantees checked.
 *
 * @example
 * ```ts
 * import type { Property } from "./checker.ts";
 * const property: Property = "liveness";
 * ```
 */
export type Property =
  | "mutual-exclusion"
  | "frozen-across-restart"
  | "capacity"
  | "lost-lease-unsignalled"
  | "fifo"
  | "liveness"
  | "timeout"
  | "foreign-error"
  | "leftover"
  | "exit";

/**
 * One violation: the property, when, who and what.
 *
 * @example
 * ```ts
 * import type { Violation } from "./checker.ts";
 * const v: Violation = {
 *   property: "liveness",
 *   at: 1000,
 *   who: ["w1.0"],
 *   resource: "r0",
 *   message: "waited 5000 ms with r0 free",
 * };
 * ```
 */
export interface Violation {
  readonly property: Property;
  readonly at: number;
  /** Where the story begins, when well before `at` (an earlier grant). */
  readonly from?: number;
  readonly who: readonly string[];
  readonly resource?: string;
  readonly message: string;
}

/**
 * How long the turn took to move on after a holder died, against its bound.
 *
 * @example
 * ```ts
 * import type { Recovery } from "./checker.ts";
 * const r: Recovery = { who: "w0.1", resource: "r0", took: 1900, bound: 3000 };
 * ```
 */
export interface Recovery {
  readonly who: string;
  readonly resource: string;
  /** From the death (kill, freeze, turn 1.0 crash) to the next grant. */
  readonly took: number;
  /** That holder's expire plus the liveness slack. */
  readonly bound: number;
}

/**
 * What the checker found.
 *
 * @example
 * ```ts
 * import { check } from "./checker.ts";
 * const { violations } = check([]);
 * ```
 */
export interface CheckResult {
  readonly violations: Violation[];
  readonly recoveries: Recovery[];
  /** The longest a live waiter waited while its resource was free. */
  readonly worstFreeWait: number;
}

interface Span {
  readonly from: number;
  readonly to: number;
}

/**
 * Checks a history (in time order) against every guarantee.
 *
 * @example
 * ```ts
 * import { check } from "./checker.ts";
 * const result = check([]);
 * console.log(result.violations.length);
 * ```
 */
export function check(events: readonly ChaosEvent[]): CheckResult {
  const model = gather(events);
  const violations: Violation[] = [
    ...witnessed(events, model),
    ...exclusion(model),
    ...fifo(model),
    ...timeouts(model),
    ...errors(model),
    ...leftAndHung(events),
  ];
  const { violations: late, worstFreeWait } = liveness(model);
  violations.push(...late, ...places(model));
  violations.sort((a, b) => a.at - b.at);
  return { violations, recoveries: recoveries(model), worstFreeWait };
}

const opName = (op: Op) => `${op.who}#${op.index}`;

/** Mutual exclusion, by the witness: a holder saw its entry taken away. */
function witnessed(events: readonly ChaosEvent[], model: Model): Violation[] {
  return events.flatMap((event) => {
    if (event.kind !== "overlap") return [];
    const grant = model.users.get(event.who)?.ops
      .find((op) => op.index === event.op)?.grants
      .find((g) => g.resource === event.resource);
    const frozen = grant !== undefined &&
      frozenAcrossRestart(model, grant, event.t);
    return [{
      property: frozen ? "frozen-across-restart" : "mutual-exclusion",
      at: event.t,
      who: [event.who],
      resource: event.resource,
      message:
        `${event.who}#${event.op} found its witness entry on ${event.resource} removed by a newcomer while its signal said it held${
          frozen ? FROZEN : ""
        }`,
    }];
  });
}

const FROZEN =
  ", having been frozen while Redis restarted empty (the documented gap: docs/GUARANTEES.md)";

/**
 * The one overlap turn documents (docs/GUARANTEES.md): a holder frozen from
 * before Redis went down until Redis was back hears of the dropped
 * connection only when it runs again, and the restarted Redis, which knows
 * nothing of it, may grant others meanwhile. So a look at `grant`'s signal
 * at `t` may read held if its holder could not run from its grant's side of
 * a Redis restart until after it, nobody else was granted the resource
 * while Redis still knew the holder, `t` is within the slack of running
 * again, and `t` is within its expire of the freeze (its last refresh came
 * before it).
 */
function frozenAcrossRestart(model: Model, grant: Grant, t: number): boolean {
  const { paused } = model.users.get(grant.op.who)!;
  const restarts = model.outages.filter((o) =>
    o.kind === "redis-kill" && !grantedSince(model, grant, o.from)
  );
  return paused.some((p) =>
    p.from >= grant.t && t >= p.to &&
    t <= Math.min(p.to + BOUNDS.restartHeard, p.from + grant.op.expire) &&
    restarts.some((o) => p.from <= o.from && p.to >= o.to)
  );
}

/** Whether another user was granted `grant`'s resource after it, by `until`. */
function grantedSince(model: Model, grant: Grant, until: number): boolean {
  return model.grants.some((g) =>
    g.resource === grant.resource && g.op.who !== grant.op.who &&
    g.t > grant.t && g.t <= until
  );
}

/**
 * Mutual exclusion, by the history: once B is granted a resource, no
 * earlier holder A of it may read its signal as not aborted, unless both
 * hold shared turns. A holder counts as holding from its grant to its last
 * look at the signal that found it not aborted. If A's only such look is
 * the one just before releasing, A's lease was lost without being
 * signalled. Shared turns: at B's grant, B and the shared holders beside it
 * must not be more than the capacity.
 */
function exclusion(model: Model): Violation[] {
  const found: Violation[] = [];
  for (const [resource, grants] of byResource(model.grants)) {
    for (const b of grants) {
      const beside: Grant[] = [];
      for (const a of grants) {
        if (a === b || a.op.who === b.op.who || a.t > b.t) continue;
        const after = a.op.checks.filter((c) =>
          c.ok && c.t > b.t + BOUNDS.clockSkew
        );
        if (after.length === 0) continue;
        if (bothShared(a, b)) {
          beside.push(a);
          continue;
        }
        const unsignalled = after.every((c) => c.leave) &&
          a.op.call !== "turn1";
        const frozen = after.every((c) => frozenAcrossRestart(model, a, c.t));
        found.push({
          property: frozen
            ? "frozen-across-restart"
            : unsignalled
            ? "lost-lease-unsignalled"
            : "mutual-exclusion",
          at: b.t,
          from: a.t,
          who: [a.op.who, b.op.who],
          resource,
          message: `${opName(b.op)} was granted ${resource} as ${b.number} at ${
            fmt(b.t)
          } while ${opName(a.op)} (granted as ${a.number} at ${
            fmt(a.t)
          }) still read its signal as held ${after.length} time(s), first at ${
            fmt(after[0].t)
          }${unsignalled ? " just before releasing" : ""}${
            frozen ? FROZEN : ""
          }`,
        });
      }
      const capacity = b.op.mode?.capacity ?? 1;
      if (capacity === NO_LIMIT || beside.length < capacity) continue;
      found.push({
        property: "capacity",
        at: b.t,
        from: Math.min(...beside.map((a) => a.t)),
        who: [b.op.who, ...beside.map((a) => a.op.who)],
        resource,
        message: `${opName(b.op)} was granted ${resource} as ${b.number} at ${
          fmt(b.t)
        } while ${beside.length} shared holder(s) still read their signal as held (${
          beside.map((a) => `${opName(a.op)} as ${a.number}`).join(", ")
        }): more than its capacity ${capacity}`,
      });
    }
  }
  return found;
}

function bothShared(a: Grant, b: Grant): boolean {
  return a.op.mode?.kind === "shared" && b.op.mode?.kind === "shared";
}

/**
 * FIFO by ticket: a user that has drawn n (its first onQueue call comes
 * after the draw) is granted before anyone granted later in the same queue
 * epoch gets a number at or above n. A Redis restart starts a new epoch, and
 * a user frozen past its expire may have drawn again.
 */
function fifo(model: Model): Violation[] {
  const found: Violation[] = [];
  for (const [resource, grants] of byResource(model.grants)) {
    for (const a of grants) {
      const drawn = a.op.queued.get(resource);
      if (drawn === undefined) continue;
      const since = a.op.acquiring.get(resource) ?? a.op.start;
      if (overlapsOutage(model, since, a.t, "redis-kill")) continue;
      // Frozen past its expire, it may have been skipped and drawn again.
      const user = model.users.get(a.op.who)!;
      if (frozenPast(user, since, a.op.expire).some((t) => t < a.t)) continue;
      // Shared turns are granted several at once; each holder learns of its
      // grant on its own, so a later number may learn first, within the slack.
      const slack = a.op.mode ? BOUNDS.livenessSlack : 0;
      const jumped = grants.find((b) =>
        b.op.who !== a.op.who && b.t > drawn + BOUNDS.clockSkew &&
        b.t < a.t - slack && b.number >= a.number
      );
      if (!jumped) continue;
      found.push({
        property: "fifo",
        at: a.t,
        who: [a.op.who, jumped.op.who],
        resource,
        message: `${opName(a.op)} had drawn by ${
          fmt(drawn)
        } and was granted ${resource} as ${a.number} at ${fmt(a.t)}, after ${
          opName(jumped.op)
        } was granted it as ${jumped.number} at ${fmt(jumped.t)}`,
      });
    }
  }
  return found;
}

/**
 * Timeouts and aborts: a call with `timeout` T settles by T plus the slack
 * (not counting time its process was stopped), never with a TimeoutError
 * before T, and never rejects with a ConnectionError before T; a call whose
 * signal aborts settles within the slack of the abort.
 */
function timeouts(model: Model): Violation[] {
  const found: Violation[] = [];
  for (const user of model.users.values()) {
    for (const op of user.ops) {
      const settled = settledAt(op);
      // The wait's own error: a release failing after every grant is not.
      const waitFailed = op.end?.kind === "failed" &&
        op.grants.length < op.resources.length;
      const error = waitFailed
        ? (op.end as { error: string }).error
        : undefined;
      const late = (limit: number, what: string) => {
        const end = settled ?? (user.gone ?? model.end);
        const stopped = stoppedWithin(user, op.start, end);
        const took = end - op.start - stopped;
        if (took <= limit + BOUNDS.timeoutSlack) return;
        found.push({
          property: "timeout",
          at: op.start + limit,
          who: [op.who],
          resource: op.resources.join(","),
          message: `${opName(op)} ${op.call}(${op.resources}) with ${what} ${
            settled === undefined ? "had not settled" : "settled"
          } after ${Math.round(took)} ms (${Math.round(stopped)} ms stopped)`,
        });
      };
      if (op.timeout !== undefined) {
        late(op.timeout, `timeout ${op.timeout}`);
        const early = settled !== undefined &&
          settled - op.start < op.timeout - 1 &&
          (error === "TimeoutError" || error === "ConnectionError");
        if (early) {
          found.push({
            property: "timeout",
            at: settled,
            who: [op.who],
            resource: op.resources.join(","),
            message: `${
              opName(op)
            } ${op.call}(${op.resources}) with timeout ${op.timeout} rejected with ${error} after ${
              Math.round(settled - op.start)
            } ms`,
          });
        }
      }
      if (op.abortAfter !== undefined) {
        late(op.abortAfter, `an abort at ${op.abortAfter} ms`);
      }
    }
  }
  return found.filter((v) => !isAfterGone(model, v));
}

// A killed process's calls settle never; that is no broken timeout.
function isAfterGone(model: Model, v: Violation): boolean {
  const gone = model.users.get(v.who[0])?.gone;
  return gone !== undefined && gone <= v.at + BOUNDS.timeoutSlack;
}

/** No error class but turn's own (and the run's abort reasons) reaches a caller. */
function errors(model: Model): Violation[] {
  return [...model.users.values()].flatMap((user) =>
    user.ops.flatMap((op) =>
      op.end?.kind === "failed" && !EXPECTED_ERRORS.has(op.end.error)
        ? [{
          property: "foreign-error" as const,
          at: op.end.t,
          who: [op.who],
          resource: op.resources.join(","),
          message: `${
            opName(op)
          } ${op.call}(${op.resources}) rejected with ${op.end.error}: ${op.end.message}`,
        }]
        : []
    )
  );
}

/** Nothing left behind, and every process ends by itself. */
function leftAndHung(events: readonly ChaosEvent[]): Violation[] {
  const killed = new Set(
    events.flatMap((e) =>
      e.kind === "fault" && e.fault === "sigkill" || e.kind === "hung"
        ? [e.target!]
        : []
    ),
  );
  return events.flatMap((event): Violation[] => {
    if (event.kind === "leftover" && event.items.length) {
      return [{
        property: "leftover",
        at: event.t,
        who: [],
        message: `left after everyone left: ${event.items.join(", ")}`,
      }];
    }
    if (event.kind === "unhandled") {
      return [{
        property: "exit",
        at: event.t,
        who: [],
        message:
          `an unhandled rejection in the orchestrator (a turn 1.0 user, or the last user's Locker): ${event.message}`,
      }];
    }
    if (event.kind === "hung") {
      return [{
        property: "exit",
        at: event.t,
        who: [event.target],
        message:
          `${event.target} did not close and exit by itself within the bound once asked to finish`,
      }];
    }
    if (
      event.kind === "exit" && !killed.has(event.who) &&
      (event.code !== 0 || event.signal !== null)
    ) {
      return [{
        property: "exit",
        at: event.t,
        who: [event.who],
        message: `${event.who} exited with code ${event.code}${
          event.signal ? ` (${event.signal})` : ""
        } without being killed${
          event.stderr?.length
            ? `; its stderr ended:\n    ${event.stderr.join("\n    ")}`
            : ""
        }`,
      }];
    }
    return [];
  });
}

/**
 * When `grant`'s holder stops blocking others: its release (a turn 1.0
 * crash leaves the indicator, so its presence TTL more), the first look at
 * its signal that found the lease lost plus its expire, its death plus its
 * expire, or a freeze longer than its expire. On the file backend, a dead
 * holder lets go at once and a frozen one never.
 */
function holdEnd(model: Model, grant: Grant): number {
  const { op } = grant;
  const user = model.users.get(op.who)!;
  const file = model.backend === "file";
  const ends = [model.end];
  const lost = op.checks.find((c) => !c.ok && c.t >= grant.t);
  if (lost) {
    // A holder that lost its lease claims nothing on leaving: its presence,
    // if Redis still has it, runs out by itself.
    ends.push(lost.t + (file ? 0 : op.expire));
  } else if (op.end) {
    const stall = op.end.kind === "released" && op.end.handsOn === false;
    ends.push(op.end.t + (stall ? op.expire : 0));
  }
  if (user.gone !== undefined && user.gone >= grant.t) {
    ends.push(user.gone + (file ? 0 : op.expire));
  }
  if (!file) ends.push(...frozenPast(user, grant.t, op.expire));
  return Math.min(...ends);
}

/** When a freeze that began after `from` outlived `expire`: its presence ran out. */
function frozenPast(user: User, from: number, expire: number): number[] {
  return user.paused
    .filter((s) => s.from >= from && s.to - s.from > expire)
    .map((s) => s.from + expire);
}

/** Spans in which a waiter that is dead or frozen may still block `resource`. */
function blocks(model: Model, resource: string): Span[] {
  const file = model.backend === "file";
  const spans: Span[] = [];
  for (const user of model.users.values()) {
    for (const op of user.ops) {
      const from = op.acquiring.get(resource);
      if (from === undefined) continue;
      const grant = op.grants.find((g) => g.resource === resource);
      const to = grant?.t ?? op.end?.t ?? model.end;
      for (const stop of user.paused) {
        if (stop.to < from || stop.from > to) continue;
        spans.push({
          from: stop.from,
          to: file ? stop.to : Math.min(stop.to, stop.from + op.expire),
        });
      }
      if (user.gone !== undefined && user.gone <= to && !file) {
        spans.push({ from: user.gone, to: user.gone + op.expire });
      }
      const gaveUp = op.call === "turn1" && op.end?.kind === "failed";
      if (gaveUp) spans.push({ from: op.end!.t, to: op.end!.t + op.expire });
    }
  }
  return spans;
}

/** Redis down or paused; after a restart, the longest expire of the users then. */
function outageSpans(model: Model, resource: string): Span[] {
  return model.outages.map((outage) => {
    if (outage.kind !== "redis-kill") return outage;
    const expires = [...model.users.values()].flatMap((u) =>
      u.ops.filter((op) =>
        op.resources.includes(resource) && op.start <= outage.to &&
        (op.end?.t ?? model.end) >= outage.from
      ).map((op) => op.expire)
    );
    return { from: outage.from, to: outage.to + Math.max(0, ...expires) };
  });
}

/**
 * Liveness with a bound: while a resource is free (nobody holds it, no dead
 * or frozen user may still block it, Redis is up and not paused), a live
 * waiter for it is granted within the slack.
 */
function liveness(
  model: Model,
): { violations: Violation[]; worstFreeWait: number } {
  const violations: Violation[] = [];
  let worstFreeWait = 0;
  const resources = new Set(model.grants.map((g) => g.resource));
  for (const user of model.users.values()) {
    for (const op of user.ops) op.acquiring.forEach((_, r) => resources.add(r));
  }
  for (const resource of resources) {
    const busy = merge([
      ...model.grants.filter((g) => g.resource === resource)
        .map((g) => ({ from: g.t, to: holdEnd(model, g) })),
      ...blocks(model, resource),
      ...outageSpans(model, resource),
    ]);
    for (const user of model.users.values()) {
      for (const op of user.ops) {
        const free = freeWaits(model, user, op, resource, busy);
        for (const span of free) {
          worstFreeWait = Math.max(worstFreeWait, span.to - span.from);
        }
        violations.push(
          ...late(
            op,
            resource,
            free,
            "while nobody held it and no dead or frozen user could block it",
          ),
        );
      }
    }
  }
  return { violations, worstFreeWait };
}

/**
 * Recovery within expire, for shared turns: a shared waiter is granted
 * within the slack once it has a free place. It has none while an exclusive
 * turn holds, while the capacity is taken (a dead or frozen holder keeps
 * its place until its expire, as `holdEnd` says), while another user that
 * may be ahead of it waits, and while a dead or frozen waiter or an outage
 * may block the resource.
 */
function places(model: Model): Violation[] {
  const violations: Violation[] = [];
  const grantsOf = byResource(model.grants);
  for (const user of model.users.values()) {
    for (const op of user.ops) {
      if (op.mode?.kind !== "shared") continue;
      for (const resource of op.acquiring.keys()) {
        const holds = (grantsOf.get(resource) ?? []).filter((g) => g.op !== op)
          .map((g) => ({
            from: g.t,
            to: holdEnd(model, g),
            exclusive: g.op.mode?.kind !== "shared",
          }));
        const full = op.mode.capacity === NO_LIMIT
          ? []
          : atLeast(holds, op.mode.capacity);
        const blocked = merge([
          ...holds.filter((h) => h.exclusive),
          ...full,
          ...mayBeAhead(model, op, resource),
          ...blocks(model, resource),
          ...outageSpans(model, resource),
        ]);
        const free = freeWaits(model, user, op, resource, blocked);
        violations.push(
          ...late(
            op,
            resource,
            free,
            `with a free place of ${op.mode.capacity} and nobody ahead`,
          ),
        );
      }
    }
  }
  return violations;
}

/** The spans in which `op` waited for `resource`, running, outside `busy`. */
function freeWaits(
  model: Model,
  user: User,
  op: Op,
  resource: string,
  busy: readonly Span[],
): Span[] {
  return liveWaits(model, user, op, resource).flatMap((span) =>
    minus(span, busy)
  );
}

/** A liveness violation for each of `free` longer than the slack. */
function late(
  op: Op,
  resource: string,
  free: readonly Span[],
  why: string,
): Violation[] {
  return free.filter((span) => span.to - span.from > BOUNDS.livenessSlack)
    .map((span) => ({
      property: "liveness" as const,
      at: span.from,
      who: [op.who],
      resource,
      message: `${opName(op)} waited for ${resource} for ${
        Math.round(span.to - span.from)
      } ms from ${fmt(span.from)} ${why} (bound ${BOUNDS.livenessSlack} ms)`,
    }));
}

/** Spans in which another user waits for `resource` that may have drawn before `op`. */
function mayBeAhead(model: Model, op: Op, resource: string): Span[] {
  const drawn = op.queued.get(resource) ?? model.end;
  const spans: Span[] = [];
  for (const user of model.users.values()) {
    for (const other of user.ops) {
      const from = other.acquiring.get(resource);
      if (other === op || from === undefined || from >= drawn) continue;
      const grant = other.grants.find((g) => g.resource === resource);
      const to = grant?.t ?? other.end?.t ?? user.gone ?? model.end;
      spans.push({ from, to });
    }
  }
  return spans;
}

/** The spans in which at least `n` of `spans` overlap. */
function atLeast(spans: readonly Span[], n: number): Span[] {
  const edges = spans.flatMap((s) => [
    { t: s.from, step: 1 },
    { t: s.to, step: -1 },
  ]).sort((a, b) => a.t - b.t || a.step - b.step);
  const out: Span[] = [];
  let count = 0;
  let from = 0;
  for (const edge of edges) {
    const before = count;
    count += edge.step;
    if (before < n && count >= n) from = edge.t;
    if (before >= n && count < n && edge.t > from) {
      out.push({ from, to: edge.t });
    }
  }
  return out;
}

/** The spans in which `op` waited for `resource` with its process running. */
function liveWaits(model: Model, user: User, op: Op, resource: string): Span[] {
  const from = op.acquiring.get(resource);
  if (from === undefined) return [];
  const grant = op.grants.find((g) => g.resource === resource);
  const to = Math.min(
    grant?.t ?? op.end?.t ?? model.end,
    user.gone ?? Infinity,
  );
  return minus({ from, to }, user.paused);
}

/** The parts of `span` outside the merged `holes`. */
function minus(span: Span, holes: readonly Span[]): Span[] {
  const parts: Span[] = [];
  let from = span.from;
  for (const hole of holes) {
    if (hole.to <= from) continue;
    if (hole.from >= span.to) break;
    if (hole.from > from) parts.push({ from, to: hole.from });
    from = Math.max(from, hole.to);
  }
  if (from < span.to) parts.push({ from, to: span.to });
  return parts;
}

/**
 * Each death of a holder (killed, frozen past its expire, a turn 1.0
 * crash) with a live waiter behind it: how long until the next grant.
 */
function recoveries(model: Model): Recovery[] {
  const found: Recovery[] = [];
  for (const [resource, grants] of byResource(model.grants)) {
    for (const grant of grants) {
      const died = deathOf(model, grant);
      if (died === undefined) continue;
      const next = grants.find((g) => g.t > died && g !== grant);
      const waiting = next &&
        [...model.users.values()].some((u) =>
          u.ops.some((op) =>
            liveWaits(model, u, op, resource).some((s) =>
              s.from <= died && s.to >= next.t
            )
          )
        );
      if (!next || !waiting) continue;
      // Recovery from a holder's death, not from Redis being away.
      if (model.outages.some((o) => o.from <= next.t && o.to >= died)) continue;
      found.push({
        who: grant.op.who,
        resource,
        took: next.t - died,
        bound: (model.backend === "file" ? 0 : grant.op.expire) +
          BOUNDS.livenessSlack,
      });
    }
  }
  return found;
}

function deathOf(model: Model, grant: Grant): number | undefined {
  const { op } = grant;
  const user = model.users.get(op.who)!;
  const end = op.end?.t ?? Infinity;
  if (op.end?.kind === "released" && op.end.handsOn === false) return op.end.t;
  if (user.gone !== undefined && user.gone >= grant.t && user.gone < end) {
    return user.gone;
  }
  const frozen = user.paused.find((s) =>
    s.from >= grant.t && s.from < end && s.to - s.from > op.expire
  );
  return model.backend === "file" ? undefined : frozen?.from;
}

function overlapsOutage(
  model: Model,
  from: number,
  to: number,
  kind: string,
): boolean {
  return model.outages.some((o) =>
    o.kind === kind && o.from <= to && o.to >= from
  );
}

function byResource(grants: readonly Grant[]): Map<string, Grant[]> {
  const map = new Map<string, Grant[]>();
  for (const grant of grants) {
    map.set(grant.resource, [...map.get(grant.resource) ?? [], grant]);
  }
  return map;
}

function fmt(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}
