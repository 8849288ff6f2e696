/**
 * The history of a chaos run: every event of every worker and of the
 * orchestrator, on one clock.
 *
 * @module
 */

/**
 * Milliseconds on the clock every process of a run shares: the wall clock's
 * origin plus a monotonic offset, so all processes of one machine agree.
 *
 * @example
 * ```ts
 * import { now } from "./history.ts";
 * const t = now();
 * ```
 */
export function now(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) /
    1000;
}

/**
 * The calls a worker draws.
 *
 * @example
 * ```ts
 * import type { Call } from "./history.ts";
 * const call: Call = "lockAll";
 * ```
 */
export type Call = "lock" | "tryLock" | "lockAll" | "withLock" | "turn1";

/**
 * Faults the orchestrator injects.
 *
 * @example
 * ```ts
 * import type { FaultKind } from "./history.ts";
 * const fault: FaultKind = "sigstop";
 * ```
 */
export type FaultKind =
  | "sigkill"
  | "sigstop"
  | "redis-kill"
  | "client-kill-pubsub"
  | "client-kill-command"
  | "client-pause"
  | "turn1-crash"
  | "turn1-complete";

/** Fields every event has. */
interface Base {
  /** When, by {@linkcode now}. */
  readonly t: number;
  /** Who: a worker incarnation (`w2.1`), a turn 1.0 user (`t1.4`), or `chaos`. */
  readonly who: string;
}

/** Fields of an event about one operation of a user. */
interface OfOp extends Base {
  /** The operation's index within `who`. */
  readonly op: number;
}

/**
 * One event of a chaos run.
 *
 * @example
 * ```ts
 * import type { ChaosEvent } from "./history.ts";
 * const event: ChaosEvent = {
 *   t: 1000,
 *   who: "w0.0",
 *   op: 3,
 *   kind: "granted",
 *   resource: "r1",
 *   number: 4,
 * };
 * ```
 */
export type ChaosEvent =
  /** A worker process runs, with a fresh Locker. */
  | Base & { readonly kind: "start"; readonly pid: number }
  /** A user starts an operation. */
  | OfOp & {
    readonly kind: "op";
    readonly call: Call;
    readonly resources: readonly string[];
    readonly expire: number;
    readonly patience?: number;
    readonly timeout?: number;
    /** The operation's AbortSignal aborts this long after it starts. */
    readonly abortAfter?: number;
    /** Shared turns: the capacity asked for (absent: a plain turn). */
    readonly capacity?: number;
    /** Shared turns: `true` for a shared ticket, `false` for an exclusive one. */
    readonly shared?: boolean;
  }
  /** A user starts waiting for one resource (one of a lockAll's). */
  | OfOp & { readonly kind: "acquiring"; readonly resource: string }
  /** The first `onQueue` call for `resource`: the user has drawn by now. */
  | OfOp & { readonly kind: "queued"; readonly resource: string }
  /** A user holds `resource` as `number`; `displaced` are witness entries it found. */
  | OfOp & {
    readonly kind: "granted";
    readonly resource: string;
    readonly number: number;
    readonly displaced?: readonly string[];
  }
  /** tryLock found the resource busy. */
  | OfOp & { readonly kind: "busy" }
  /** A holder read its signal before a step of work: `ok` if not aborted. */
  | OfOp & { readonly kind: "step"; readonly ok: boolean }
  /** The witness saw someone enter while this holder's signal said it held. */
  | OfOp & { readonly kind: "overlap"; readonly resource: string }
  /** A holder read its signal once more just before releasing. */
  | OfOp & { readonly kind: "leave"; readonly ok: boolean }
  /**
   * The release call returned. `handsOn: false`: a turn 1.0 crash, which
   * leaves the indicator for the next user to find out about. `lost`: the
   * lease was lost when the release began, so it claimed nothing.
   */
  | OfOp & {
    readonly kind: "released";
    readonly handsOn?: false;
    readonly lost?: true;
  }
  /** The operation rejected. */
  | OfOp & {
    readonly kind: "failed";
    readonly error: string;
    readonly message: string;
  }
  /** A worker was asked to finish, and has closed its Locker. */
  | Base & { readonly kind: "closing" | "closed" }
  /** The orchestrator started a worker process. */
  | Base & { readonly kind: "spawn"; readonly pid: number }
  /** A worker process ended; one that died on its own, with its last words. */
  | Base & {
    readonly kind: "exit";
    readonly code: number;
    readonly signal: string | null;
    readonly stderr?: readonly string[];
  }
  /** A fault; `target` is the user it hit, `ms` how long it lasts. */
  | Base & {
    readonly kind: "fault";
    readonly fault: FaultKind;
    readonly target?: string;
    readonly ms?: number;
  }
  /** A worker's event loop could not run for `ms` (starved of CPU). */
  | Base & { readonly kind: "lag"; readonly ms: number }
  /** A worker's event loop ran (its lag probe's regular beat). */
  | Base & { readonly kind: "alive" }
  /** A stopped worker continues. */
  | Base & { readonly kind: "sigcont"; readonly target: string }
  /** Redis accepts connections again after `redis-kill`. */
  | Base & { readonly kind: "redis-up" }
  /** A promise rejected with nobody to handle it, in the orchestrator. */
  | Base & { readonly kind: "unhandled"; readonly message: string }
  /** A worker did not exit by itself within the bound after closing. */
  | Base & { readonly kind: "hung"; readonly target: string }
  /** What was left in Redis or the lock directory after everyone left. */
  | Base & { readonly kind: "leftover"; readonly items: readonly string[] }
  /** The run's settings, first in every history. */
  | Base & { readonly kind: "run"; readonly settings: RunSettings };

/**
 * The settings of a run, recorded so a history explains itself.
 *
 * @example
 * ```ts
 * import type { RunSettings } from "./history.ts";
 * const settings: RunSettings = {
 *   seed: 7,
 *   seconds: 20,
 *   backend: "redis",
 *   workers: 5,
 *   resources: ["r0", "r1", "r2"],
 * };
 * ```
 */
export interface RunSettings {
  readonly seed: number;
  readonly seconds: number;
  readonly backend: "redis" | "file";
  readonly workers: number;
  readonly resources: readonly string[];
}

/**
 * Events in time order; the order of arrival breaks ties.
 *
 * @example
 * ```ts
 * import { inOrder } from "./history.ts";
 * const events = inOrder([{ t: 2, who: "chaos", kind: "redis-up" }]);
 * ```
 */
export function inOrder(events: readonly ChaosEvent[]): ChaosEvent[] {
  return events.map((event, index) => ({ event, index }))
    .sort((a, b) => a.event.t - b.event.t || a.index - b.index)
    .map(({ event }) => event);
}

/**
 * Parses one line a worker printed; `undefined` for anything else.
 *
 * @example
 * ```ts
 * import { parseEvent } from "./history.ts";
 * parseEvent('{"t":1,"who":"w0.0","kind":"closed"}');
 * ```
 */
export function parseEvent(line: string): ChaosEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const event = JSON.parse(line);
    return typeof event.t === "number" && typeof event.kind === "string"
      ? event
      : undefined;
  } catch {
    return undefined;
  }
}
