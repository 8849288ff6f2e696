/**
 * BullMQ worker middleware: jobs that touch the same shared resource take
 * turns, across every worker, process and host that uses the same Redis, and
 * with NestJS methods, CLI users and turn 1.0 Python programs on that resource.
 *
 * `bullmq` (5.64 or newer, or 6) is a peer dependency: this module imports
 * nothing from it, not even types. Jobs are typed by the methods it calls
 * ({@linkcode TurnJob}), and the errors it throws to put a job back are
 * recognised by BullMQ by their name and message, as BullMQ recognises its
 * own `DelayedError` and rate-limit error. So it works with whichever copy of
 * BullMQ the application has, and never loads a second one.
 *
 * Start with {@linkcode withTurn}.
 *
 * @module
 */

import type { Locker, LockSet } from "../mod.ts";
import { whileHeld } from "../src/lock_set.ts";
import { show } from "../src/validate.ts";
import {
  DelayedError,
  RateLimitError,
  TurnCancelledError,
} from "./bullmq/errors.ts";
import {
  type AnyJob,
  checkOptions,
  labelOf,
  type Processor,
  resourcesOf,
  type TurnJob,
  type TurnProcessor,
  type WithTurnOptions,
} from "./bullmq/options.ts";

export { TurnCancelledError } from "./bullmq/errors.ts";
export type {
  AnyJob,
  BusyStrategy,
  Processor,
  TurnJob,
  TurnProcessor,
  WithTurnOptions,
} from "./bullmq/options.ts";

const DEFAULT_DELAY_MS = 1_000;

/**
 * Wraps a BullMQ processor so that the job runs only while it holds the turn
 * on its resource(s). The turn is released when the processor returns or
 * throws; BullMQ's own failure and retry handling is untouched.
 *
 * Waiting longer than the worker's `lockDuration` is safe: BullMQ keeps
 * renewing the job lock while the processor runs.
 *
 * @example Jobs of one account take turns, on any number of workers
 * ```ts
 * import { once } from "node:events";
 * import { Queue, Worker } from "bullmq";
 * import { Locker } from "@turn/turn";
 * import { withTurn } from "@turn/turn/bullmq";
 *
 * const url = Deno.env.get("TURN_REDIS_URL") ?? "redis://localhost:6379/0";
 * await using locker = new Locker({ url });
 * const shutdown = new AbortController();
 * const worker = new Worker("invoices", withTurn(locker, {
 *   resource: (job) => `account:${job.data.accountId}`,
 *   shutdown: shutdown.signal,
 * }, async (job, _token, signal) => {
 *   signal.throwIfAborted(); // pass `signal` on to fetch() and the like
 *   return `charged account ${job.data.accountId}`;
 * }), { connection: { url }, concurrency: 8 });
 * worker.on("closing", () => shutdown.abort());
 *
 * const queue = new Queue("invoices", { connection: { url } });
 * await queue.add("charge", { accountId: 7 });
 * const [job] = await once(worker, "completed");
 * console.log(job.returnvalue); // charged account 7
 * await queue.close();
 * await worker.close();
 * ```
 *
 * @param locker The locker to take turns with.
 * @param options Which resource each job needs, and how to wait for it.
 * @param processor Your processor, run with the turn held, and given the
 *   held locks (with their fencing tokens) after BullMQ's arguments.
 * @returns A processor for `new Worker(...)`, declaring `(job, token, signal)`
 *   so that BullMQ hands it the cancellation signal.
 */
export function withTurn<J extends TurnJob = AnyJob, R = unknown>(
  locker: Locker,
  options: WithTurnOptions<J>,
  processor: TurnProcessor<J, R>,
): Processor<J, R> {
  checkOptions(options);
  if (typeof processor !== "function") {
    throw new TypeError(`processor must be a function: got ${show(processor)}`);
  }
  return async function turnProcessor(job, token, signal) {
    const cancel = nativeSignal(signal);
    const resources = resourcesOf(job, options.resource);
    if (resources.length === 0) return await processor(job, token, cancel, []);
    const label = labelOf(job, options.label);
    const attempt = { job, token, cancel, resources, label };
    const turns = await takeLockSet(locker, options, attempt);
    const both = AbortSignal.any([cancel, turns.signal]);
    return await holding(
      turns,
      job,
      () => processor(job, token, both, turns.locks),
    );
  };
}

/**
 * Runs `work` and then releases the turns, as crashed if it threw. Once the
 * work succeeded, a lost lease or a failed release goes to the job's log.
 */
function holding<R>(
  turns: LockSet,
  job: TurnJob,
  work: () => Promise<R>,
): Promise<R> {
  // The work is done: failing the job now would make BullMQ run it again.
  // A turn that cannot be released lapses when its lease expires.
  const onLate = (error: unknown) =>
    quietly(job.log(`turn lost or not released after the job: ${error}`));
  return whileHeld(turns, work, { onLate });
}

/** What BullMQ 5's polyfilled signals and native ones have in common. */
interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(
    type: "abort",
    listener: () => void,
    options: { once: boolean },
  ): void;
}

/**
 * BullMQ 5 hands processors a polyfilled signal (from `node-abort-controller`)
 * that `AbortSignal.any()` and `fetch()` reject: follow it with a real one.
 */
function nativeSignal(signal: AbortSignalLike | undefined): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if (signal?.aborted) controller.abort(signal.reason);
  signal?.addEventListener(
    "abort",
    () => controller.abort(signal.reason),
    { once: true },
  );
  return controller.signal;
}

/** One run of the processor: the job and what was worked out about it. */
interface Attempt<J> {
  readonly job: J;
  readonly token: string | undefined;
  readonly cancel: AbortSignal;
  readonly resources: readonly string[];
  readonly label: string;
}

async function takeLockSet<J extends TurnJob>(
  locker: Locker,
  options: WithTurnOptions<J>,
  attempt: Attempt<J>,
): Promise<LockSet> {
  const turns = options.onBusy === "delay"
    ? await tryLockSet(locker, options, attempt)
    : await waitLockSet(locker, options, attempt);
  for (const lock of turns.locks) {
    log(
      options,
      attempt.job,
      `turn on ${lock.resource}: granted #${lock.number}`,
    );
  }
  return turns;
}

async function tryLockSet<J extends TurnJob>(
  locker: Locker,
  options: WithTurnOptions<J>,
  { job, token, resources, label }: Attempt<J>,
): Promise<LockSet> {
  const { expire, patience, capacity, shared, delay = DEFAULT_DELAY_MS } =
    options;
  const turns = await locker.tryLockAll(resources, {
    label,
    expire,
    patience,
    capacity,
    shared,
  });
  if (turns) return turns;
  const busy = `turn on ${resources.join(", ")}: busy, retrying in ${delay} ms`;
  log(options, job, busy);
  await job.moveToDelayed(Date.now() + delay, token);
  throw new DelayedError(`${label}: ${busy}`);
}

async function waitLockSet<J extends TurnJob>(
  locker: Locker,
  options: WithTurnOptions<J>,
  { job, cancel, resources, label }: Attempt<J>,
): Promise<LockSet> {
  const { expire, patience, capacity, shared, timeout, shutdown } = options;
  const signal = shutdown ? AbortSignal.any([cancel, shutdown]) : cancel;
  try {
    return await locker.lockAll(resources, {
      label,
      expire,
      patience,
      capacity,
      shared,
      timeout,
      signal,
      onQueue: (resource, ahead) => reportQueue(options, job, resource, ahead),
    });
  } catch (error) {
    if (cancel.aborted) throw new TurnCancelledError(label, cancel.reason);
    if (!shutdown?.aborted) throw error;
    log(options, job, "turn: worker closing, job back to the queue");
    throw new RateLimitError();
  }
}

function reportQueue<J extends TurnJob>(
  options: WithTurnOptions<J>,
  job: J,
  resource: string,
  ahead: number,
): void {
  log(options, job, `turn on ${resource}: waiting, ${ahead} ahead`);
  try {
    options.onQueue?.(job, resource, ahead);
  } catch (error) {
    // A reporting hook must not break the wait for the turn.
    quietly(job.log(`onQueue threw: ${error}`));
  }
}

/** Adds a line to the job's log, unless the options turned logging off. */
function log(options: { log?: boolean }, job: TurnJob, line: string): void {
  if (options.log !== false) quietly(job.log(line));
}

// Logging is for people watching a dashboard: a log line lost because the
// connection is closing must not fail the job.
function quietly(promise: Promise<unknown>): void {
  promise.catch(() => {});
}
