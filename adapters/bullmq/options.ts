/**
 * The options of `withTurn` and the job's own answers to them (its resources
 * and label), checked: a bad answer fails that job only, with a message that
 * names the job.
 *
 * @module
 */

import type { Lock } from "../../src/lock.ts";
import { MIN_EXPIRE } from "../../src/locker.ts";
import { checkDuration, show } from "../../src/validate.ts";
import { sharedMode } from "../../src/turn_mode.ts";
import { type Caller, labelFrom, resourcesFrom } from "../shared/names.ts";

/**
 * What the middleware needs of a BullMQ `Job`; every BullMQ 5.64+ and 6 job
 * has it. Your processor gets your own job type back.
 *
 * @example
 * ```ts
 * import type { TurnJob } from "../bullmq.ts";
 * const job: TurnJob = {
 *   id: "42",
 *   queueName: "reports",
 *   log: (row) => Promise.resolve(console.log(row)),
 *   moveToDelayed: () => Promise.resolve(),
 * };
 * ```
 */
export interface TurnJob {
  /** The job id. */
  readonly id?: string;
  /** The queue the job belongs to. */
  readonly queueName: string;
  /** Adds a line to the job's log. */
  log(row: string): Promise<unknown>;
  /** Moves the active job to the delayed set until `timestamp`. */
  moveToDelayed(timestamp: number, token?: string): Promise<unknown>;
}

/**
 * The job type when nothing tells TypeScript which BullMQ job it is (a
 * `new Worker(...)` without type arguments): loose, like BullMQ's own default
 * `Job<any>`. Give the worker its types, or annotate your processor's job, to
 * get your exact job type instead.
 *
 * @example
 * ```ts
 * import type { AnyJob } from "../bullmq.ts";
 * const printerOf = (job: AnyJob): string => `printer:${job.data.printer}`;
 * ```
 */
// deno-lint-ignore no-explicit-any
export type AnyJob = TurnJob & { readonly [key: string]: any };

/**
 * What to do with a job whose resource is busy.
 *
 * @example
 * ```ts
 * import type { BusyStrategy } from "../bullmq.ts";
 * const onBusy: BusyStrategy = "delay";
 * ```
 */
export type BusyStrategy = "wait" | "delay";

/**
 * Options for {@linkcode withTurn}.
 *
 * @example
 * ```ts
 * import type { AnyJob, WithTurnOptions } from "../bullmq.ts";
 * const options: WithTurnOptions<AnyJob> = {
 *   resource: (job) => `printer:${job.data.printer}`,
 *   timeout: 60_000,
 * };
 * ```
 */
export interface WithTurnOptions<J extends TurnJob> {
  /**
   * The resource(s) the job needs: a name, several names (taken in sorted
   * order, all held while the job runs), or `null` (or `[]`) when the job
   * needs no turn. Throwing or returning anything else fails that job only.
   */
  readonly resource: (job: J) => string | readonly string[] | null;
  /** The label other users see in status; default `<queueName>#<id>`. */
  readonly label?: (job: J) => string;
  /** Lease length in ms (see `Locker.lock`). */
  readonly expire?: number;
  /** How long a waiter trusts a silent holder, in ms (see `Locker.lock`). */
  readonly patience?: number;
  /**
   * At most this many jobs hold a resource at once, across every worker,
   * in the order they asked: per-key concurrency N (see `Locker.lock`).
   */
  readonly capacity?: number;
  /** `true`: hold beside other shared jobs; `false`: alone (see `Locker.lock`). */
  readonly shared?: boolean;
  /**
   * Longest wait for the turn, in ms (for all resources together); then the
   * job fails with `TimeoutError` and BullMQ's retry settings apply.
   */
  readonly timeout?: number;
  /**
   * `"wait"` (default): the job waits in its worker slot, in ticket order.
   * `"delay"`: if a resource is busy the job goes to the delayed set for
   * `delay` ms without counting as an attempt, freeing the slot for jobs of
   * other resources, at the cost of strict first-come-first-served order.
   */
  readonly onBusy?: BusyStrategy;
  /** With `onBusy: "delay"`: ms before a job that found a busy resource retries. Default 1000. */
  readonly delay?: number;
  /**
   * Abort this when the worker is closing (its `closing` event): jobs still
   * waiting for a turn give up their tickets and go back to the front of the
   * queue, without counting as an attempt, so `worker.close()` only waits for
   * jobs that hold their turn. Abort it only while the worker closes:
   * otherwise the worker would take the same jobs again at once.
   */
  readonly shutdown?: AbortSignal;
  /** Log each change of the number of users ahead, and the grant, to the job's log. Default true. */
  readonly log?: boolean;
  /** Called with the users ahead while the job waits, e.g. to `job.updateProgress()`. */
  readonly onQueue?: (job: J, resource: string, ahead: number) => void;
}

/**
 * Your processor: BullMQ's, but the `signal` is always there. It aborts when
 * BullMQ cancels the job (`worker.cancelJob`) or when a turn's lease is lost.
 * `locks` are the turns held, one per resource in sorted order (none when the
 * job needs no resource); pass `lock.fence` with each write so that the
 * resource can refuse a job whose turn has passed.
 *
 * @example Sending each write with its fencing token
 * ```ts
 * import type { TurnProcessor } from "@turn/turn/bullmq";
 * const processor: TurnProcessor<{ id?: string }, string> = async (
 *   job, _token, _signal, [lock],
 * ) => `job ${job.id} writes with fence ${lock.fence}`;
 * ```
 */
export type TurnProcessor<J, R> = (
  job: J,
  token: string | undefined,
  signal: AbortSignal,
  locks: readonly Lock[],
) => Promise<R>;

/**
 * The BullMQ processor {@linkcode withTurn} returns.
 *
 * @example
 * ```ts
 * import type { AnyJob, Processor } from "../bullmq.ts";
 * const started: Processor<AnyJob, void> = async (job) => {
 *   await job.log("started");
 * };
 * ```
 */
export type Processor<J, R> = (
  job: J,
  token?: string,
  signal?: AbortSignal,
) => Promise<R>;

const BUSY_STRATEGIES: readonly BusyStrategy[] = ["wait", "delay"];

/** Checks the options once, when the processor is made. */
export function checkOptions<J extends TurnJob>(
  options: WithTurnOptions<J>,
): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object: got ${show(options)}`);
  }
  checkFunction("resource", options.resource);
  for (const name of ["label", "onQueue"] as const) {
    if (options[name] !== undefined) checkFunction(name, options[name]);
  }
  const { onBusy, delay, expire, patience, timeout, shutdown } = options;
  if (onBusy !== undefined && !BUSY_STRATEGIES.includes(onBusy)) {
    throw new TypeError(
      `onBusy must be "wait" or "delay": got ${show(onBusy)}`,
    );
  }
  if (delay !== undefined) checkDuration("delay", delay);
  if (expire !== undefined) checkDuration("expire", expire, MIN_EXPIRE);
  if (patience !== undefined) checkDuration("patience", patience);
  if (timeout !== undefined) checkDuration("timeout", timeout);
  sharedMode(options);
  if (shutdown !== undefined && !(shutdown instanceof AbortSignal)) {
    throw new TypeError(
      `shutdown must be an AbortSignal: got ${show(shutdown)}`,
    );
  }
}

function checkFunction(name: string, value: unknown): void {
  if (typeof value !== "function") {
    throw new TypeError(`${name} must be a function: got ${show(value)}`);
  }
}

/** The job's resources, checked; `[]` when it needs no turn. */
export function resourcesOf<J extends TurnJob>(
  job: J,
  resource: WithTurnOptions<J>["resource"],
): readonly string[] {
  return resourcesFrom(jobCaller(job), () => resource(job), "allowed");
}

/** The job's label, checked. */
export function labelOf<J extends TurnJob>(
  job: J,
  label: WithTurnOptions<J>["label"],
): string {
  if (!label) return defaultLabel(job);
  return labelFrom(jobCaller(job), () => label(job));
}

/** The label of a job when the options give none: `<queue>#<id>`. */
function defaultLabel(job: TurnJob): string {
  return `${job.queueName}#${job.id}`;
}

/** Errors about `resource(job)` or `label(job)` name the job. */
function jobCaller(job: TurnJob): Caller {
  const name = defaultLabel(job);
  return {
    threw: (kind, error) =>
      new Error(`${kind}(job) threw for job ${name}: ${error}`, {
        cause: error,
      }),
    returned: (kind, error) => {
      const message = `${kind}(job) for job ${name}: ${error.message}`;
      return error instanceof TypeError
        ? new TypeError(message)
        : new RangeError(message);
    },
  };
}
