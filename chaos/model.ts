/**
 * What a history says happened, gathered per user and per operation: the
 * shape the checker's rules read.
 *
 * @module
 */

import type { Call, ChaosEvent } from "./history.ts";
import { type SharedMode, sharedMode } from "../src/turn_mode.ts";

/** A grant of one resource to one operation. */
export interface Grant {
  readonly op: Op;
  readonly resource: string;
  readonly number: number;
  readonly t: number;
}

/** One operation of one user, as its events tell. */
export interface Op {
  readonly who: string;
  readonly index: number;
  readonly call: Call;
  readonly resources: readonly string[];
  readonly expire: number;
  readonly timeout?: number;
  readonly abortAfter?: number;
  /** A shared turn's kind and capacity; `undefined` for a plain turn. */
  readonly mode?: SharedMode;
  readonly start: number;
  readonly acquiring: Map<string, number>;
  readonly queued: Map<string, number>;
  readonly grants: Grant[];
  /** Each look at the signal while holding (steps, then the leave). */
  readonly checks: { t: number; ok: boolean; leave: boolean }[];
  end?: ChaosEvent & { kind: "released" | "failed" | "busy" };
}

/** A user (a worker incarnation, a turn 1.0 user or the last user). */
export interface User {
  readonly who: string;
  readonly ops: Op[];
  /** When it was killed or its process ended. */
  gone?: number;
  /** Its last sign of running: its last event, or the end of its last lag. */
  seen: number;
  /** A worker process (it said it started), not a user in the orchestrator. */
  worker: boolean;
  /** SIGSTOP to SIGCONT (or to the end). */
  readonly stops: { from: number; to: number }[];
  /** Its event loop could not run for a while (starved of CPU). */
  readonly lags: { from: number; to: number }[];
  /**
   * When it could not act: stopped or starved, merged. Time a process could
   * not run counts against none of its bounds, and may cost its presence.
   */
  paused: { from: number; to: number }[];
}

/** The history gathered. */
export interface Model {
  readonly backend: "redis" | "file";
  readonly users: Map<string, User>;
  readonly grants: Grant[];
  /** Redis down (SIGKILL to accepting again) or paused. */
  readonly outages: { from: number; to: number; kind: string }[];
  readonly end: number;
}

/**
 * Gathers `events` (in time order) into a model.
 *
 * @example
 * ```ts
 * import { gather } from "./model.ts";
 * const model = gather([]);
 * ```
 */
export function gather(events: readonly ChaosEvent[]): Model {
  const users = new Map<string, User>();
  const user = (who: string) => {
    let found = users.get(who);
    if (!found) {
      users.set(
        who,
        found = {
          who,
          ops: [],
          stops: [],
          lags: [],
          paused: [],
          seen: 0,
          worker: false,
        },
      );
    }
    return found;
  };
  const grants: Grant[] = [];
  const outages: Model["outages"] = [];
  const end = events.length ? events[events.length - 1].t : 0;
  let redisDown: number | undefined;
  let backend: Model["backend"] = "redis";
  for (const event of events) {
    // What the orchestrator records of a worker is no sign that it runs.
    if (
      event.who !== "chaos" && event.kind !== "spawn" && event.kind !== "exit"
    ) {
      const u = user(event.who);
      const ran = event.kind === "lag" ? event.t + event.ms : event.t;
      u.seen = Math.max(u.seen, ran);
      u.worker ||= event.kind === "start";
    }
    const op = "op" in event && event.kind !== "op"
      ? user(event.who).ops.find((o) => o.index === event.op)
      : undefined;
    switch (event.kind) {
      case "run":
        backend = event.settings.backend;
        break;
      case "op":
        user(event.who).ops.push({
          who: event.who,
          index: event.op,
          call: event.call,
          resources: event.resources,
          expire: event.expire,
          timeout: event.timeout,
          abortAfter: event.abortAfter,
          mode: sharedMode(event),
          start: event.t,
          acquiring: new Map(),
          queued: new Map(),
          grants: [],
          checks: [],
        });
        break;
      case "acquiring":
        op?.acquiring.set(event.resource, event.t);
        break;
      case "queued":
        op?.queued.set(event.resource, event.t);
        break;
      case "granted":
        if (op) {
          const grant = {
            op,
            resource: event.resource,
            number: event.number,
            t: event.t,
          };
          op.grants.push(grant);
          grants.push(grant);
        }
        break;
      case "step":
      case "leave":
        op?.checks.push({
          t: event.t,
          ok: event.ok,
          leave: event.kind === "leave",
        });
        break;
      case "released":
      case "failed":
      case "busy":
        if (op) op.end = event;
        if (op && event.kind === "released" && event.lost) {
          op.checks.push({ t: event.t, ok: false, leave: true });
        }
        break;
      case "fault":
        if (event.fault === "sigkill" && event.target) {
          user(event.target).gone = event.t;
        } else if (event.fault === "sigstop" && event.target) {
          user(event.target).stops.push({ from: event.t, to: Infinity });
        } else if (event.fault === "redis-kill") {
          redisDown = event.t;
        } else if (event.fault === "client-pause") {
          outages.push({
            from: event.t,
            to: event.t + event.ms!,
            kind: "client-pause",
          });
        }
        break;
      case "lag":
        user(event.who).lags.push({ from: event.t, to: event.t + event.ms });
        break;
      case "sigcont": {
        const stop = user(event.target).stops.at(-1);
        if (stop && stop.to === Infinity) stop.to = event.t;
        break;
      }
      case "hung":
      case "exit": {
        const who = event.kind === "hung" ? event.target : event.who;
        user(who).gone ??= event.t;
        break;
      }
      case "redis-up":
        outages.push({
          from: redisDown ?? event.t,
          to: event.t,
          kind: "redis-kill",
        });
        redisDown = undefined;
        break;
    }
  }
  if (redisDown !== undefined) {
    outages.push({ from: redisDown, to: end, kind: "redis-kill" });
  }
  // Histories from before workers said that they run tell nothing by silence.
  const beating = events.some((e) => e.kind === "alive");
  // The users that are no worker run in the orchestrator, and lag with it.
  const orchestrator = users.get("chaos")?.lags ?? [];
  for (const u of users.values()) {
    const silent = beating && u.worker ? unheard(u) : [];
    const lags = u.worker ? u.lags : [...u.lags, ...orchestrator];
    u.paused = merge([...u.stops, ...lags, ...silent]);
  }
  return { backend, users, grants, outages, end };
}

/**
 * A worker hears of a lag only once it runs again: one killed while starved
 * never does. It says regularly that it runs, so from its last sign of
 * running to its death nothing shows that it could run.
 */
function unheard(user: User): { from: number; to: number }[] {
  const { seen, gone } = user;
  return gone !== undefined && gone > seen ? [{ from: seen, to: gone }] : [];
}

/** How long `user` could not run (stopped or starved) within [from, to]. */
export function stoppedWithin(user: User, from: number, to: number): number {
  return user.paused.reduce(
    (sum, stop) =>
      sum + Math.max(0, Math.min(to, stop.to) - Math.max(from, stop.from)),
    0,
  );
}

/** When `op`'s wait settled: its last grant (for a set, when all are held) or its end. */
export function settledAt(op: Op): number | undefined {
  // Granted everything: what fails later (a release) is not the wait's.
  if (op.grants.length >= op.resources.length) {
    return Math.max(...op.grants.map((g) => g.t));
  }
  return op.end?.t;
}

/**
 * Sorted, merged spans.
 *
 * @example
 * ```ts
 * import { merge } from "./model.ts";
 * merge([{ from: 5, to: 9 }, { from: 0, to: 6 }]); // [{ from: 0, to: 9 }]
 * ```
 */
export function merge(
  spans: readonly { from: number; to: number }[],
): { from: number; to: number }[] {
  const sorted = [...spans].filter((s) => s.to > s.from)
    .sort((a, b) => a.from - b.from);
  const merged: { from: number; to: number }[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && span.from <= last.to) last.to = Math.max(last.to, span.to);
    else merged.push({ ...span });
  }
  return merged;
}
