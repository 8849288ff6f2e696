/**
 * A long-lived worker process of a chaos run: one Locker for its whole life,
 * drawing operations from its seeded stream until its stdin closes, then
 * closing the Locker and ending without `Deno.exit`, so a timer or handle
 * left behind keeps it alive for the orchestrator to see. Every event is
 * one JSON line on stdout.
 *
 * Usage: `deno run -A chaos/worker.ts '<WorkerConfig as JSON>'`
 *
 * @module
 */

import { Locker } from "../mod.ts";
import type { Lock } from "../mod.ts";
import { type ChaosEvent, now } from "./history.ts";
import { probeLag } from "./lag.ts";
import { drawOp, type OpPlan } from "./plan.ts";
import { Random } from "./random.ts";
import { holds, Witness } from "./witness.ts";

/**
 * What the orchestrator tells a worker.
 *
 * @example
 * ```ts
 * import type { WorkerConfig } from "./worker.ts";
 * const config: WorkerConfig = {
 *   seed: 7,
 *   name: "w0",
 *   who: "w0.0",
 *   url: "redis://127.0.0.1:6390/0",
 *   witness: "/tmp/witness",
 *   resources: ["r0", "r1"],
 * };
 * ```
 */
export interface WorkerConfig {
  readonly seed: number;
  /** The worker's name, the same in every incarnation. */
  readonly name: string;
  /** This incarnation. */
  readonly who: string;
  readonly url: string;
  readonly witness: string;
  readonly resources: readonly string[];
}

/** The reasons this worker aborts with; they name themselves in `failed`. */
class ChaosAbort extends Error {
  override name = "ChaosAbort";
}
class ChaosFinish extends Error {
  override name = "ChaosFinish";
}
class ChaosCrash extends Error {
  override name = "ChaosCrash";
}
class ChaosOnQueue extends Error {
  override name = "ChaosOnQueue";
}

type Emit = (
  event: Record<string, unknown> & { kind: ChaosEvent["kind"] },
) => void;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** One operation: its events, its witness entries, its holding. */
class Operation {
  readonly #emit: Emit;
  readonly #witness: Witness;
  readonly #plan: OpPlan;
  readonly #finishing: AbortSignal;
  readonly #entered: string[] = [];
  readonly #entering: Promise<void>[] = [];
  readonly #locks: Lock[] = [];

  constructor(
    emit: Emit,
    witness: Witness,
    plan: OpPlan,
    finishing: AbortSignal,
  ) {
    this.#emit = emit;
    this.#witness = witness;
    this.#plan = plan;
    this.#finishing = finishing;
  }

  /** Records a grant and enters the witness (lockAll's hook cannot await). */
  granted(lock: Lock): Promise<void> {
    this.#locks.push(lock);
    const entering = this.#enter(lock);
    this.#entering.push(entering);
    return entering;
  }

  async #enter(lock: Lock): Promise<void> {
    const t = now();
    // The witness is one at a time; shared turns are judged by the history.
    const shared = this.#plan.shared !== undefined;
    const displaced = shared
      ? []
      : await this.#witness.enter(lock.resource, () => holds(lock));
    if (!shared) this.#entered.push(lock.resource);
    this.#emit({
      kind: "granted",
      t,
      resource: lock.resource,
      number: lock.number,
      ...(displaced.length ? { displaced } : {}),
    });
  }

  /** The steps of work; each first looks at the witness, then the signal. */
  async work(signal: () => AbortSignal): Promise<void> {
    await Promise.all(this.#entering);
    for (const ms of this.#plan.steps) {
      if (this.#finishing.aborted) return;
      const inside = await Promise.all(
        this.#entered.map((r) => this.#witness.inside(r)),
      );
      const t = now();
      const ok = !signal().aborted;
      this.#emit({ kind: "step", ok, t });
      if (!ok) return;
      inside.forEach((yes, i) => {
        if (!yes) this.#emit({ kind: "overlap", resource: this.#entered[i] });
      });
      await sleep(ms, this.#finishing);
    }
  }

  /** Before releasing: one last look at the signal, then out of the witness. */
  async leave(signal: () => AbortSignal): Promise<void> {
    this.#emit({ kind: "leave", ok: !signal().aborted });
    await this.exit();
  }

  /**
   * After a failed lockAll: whether a turn it gave back had been lost, so its
   * presence may outlive it. Read only then: a released lock's signal says
   * nothing.
   */
  lostAny(): void {
    if (this.#locks.some((lock) => lock.signal.aborted)) {
      this.#emit({ kind: "leave", ok: false });
    }
  }

  /**
   * The release returned. A lease lost after the last look at the signal,
   * before the release began, makes the release claim nothing: the signal,
   * read now, tells whether that happened.
   */
  released(): void {
    const lost = this.#locks.some((lock) => lock.signal.aborted);
    this.#emit({ kind: "released", ...(lost ? { lost } : {}) });
  }

  /** Out of the witness (also for the turns a failed lockAll gave back). */
  async exit(): Promise<void> {
    await Promise.all(this.#entering);
    await Promise.all(this.#entered.map((r) => this.#witness.leave(r)));
    this.#entered.length = 0;
  }
}

async function runOp(
  locker: Locker,
  plan: OpPlan,
  operation: Operation,
  emit: Emit,
  finishing: AbortSignal,
): Promise<void> {
  const { label, expire, patience, timeout, capacity, shared } = plan;
  const aborter = new AbortController();
  const timer = plan.abortAfter === undefined ? undefined : setTimeout(
    () => aborter.abort(new ChaosAbort("the schedule aborts this wait")),
    plan.abortAfter,
  );
  const signal = AbortSignal.any([aborter.signal, finishing]);
  const queued = new Set<string>();
  const onQueue = (resource: string) => {
    if (!queued.has(resource)) {
      queued.add(resource);
      emit({ kind: "queued", resource });
    }
    if (plan.throwingOnQueue) {
      throw new ChaosOnQueue("the schedule's onQueue callback throws");
    }
  };
  const options = {
    label,
    expire,
    patience,
    timeout,
    signal,
    onQueue: () => onQueue(plan.resources[0]),
    capacity,
    shared,
  };
  const [resource] = plan.resources;
  try {
    switch (plan.call) {
      case "tryLock": {
        const lock = await locker.tryLock(resource, {
          label,
          expire,
          patience,
          capacity,
          shared,
        });
        if (lock === null) return emit({ kind: "busy" });
        await operation.granted(lock);
        await holdAndRelease(operation, () => lock.signal, lock, plan);
        return;
      }
      case "lock": {
        emit({ kind: "acquiring", resource });
        const lock = await locker.lock(resource, options);
        await operation.granted(lock);
        await holdAndRelease(operation, () => lock.signal, lock, plan);
        return;
      }
      case "lockAll": {
        const set = await locker.lockAll(plan.resources, {
          ...options,
          onAcquiring: (r) => emit({ kind: "acquiring", resource: r }),
          onQueue,
          onLocked: (lock) => void operation.granted(lock),
        });
        await holdAndRelease(operation, () => set.signal, set, plan);
        return;
      }
      case "withLock": {
        emit({ kind: "acquiring", resource });
        await locker.withLock(resource, async (lock) => {
          await operation.granted(lock);
          await operation.work(() => lock.signal);
          await operation.leave(() => lock.signal);
          if (plan.crash) throw new ChaosCrash("the schedule fails this work");
        }, options);
        operation.released();
        return;
      }
    }
  } catch (error) {
    if (plan.call === "lockAll") operation.lostAny();
    await operation.exit();
    if (error instanceof ChaosCrash) return operation.released();
    const { name, message } = error instanceof Error
      ? error
      : { name: typeof error, message: String(error) };
    emit({ kind: "failed", error: name, message });
  } finally {
    clearTimeout(timer);
  }
}

async function holdAndRelease(
  operation: Operation,
  signal: () => AbortSignal,
  held: { release(outcome?: "completed" | "crashed"): Promise<void> },
  plan: OpPlan,
): Promise<void> {
  await operation.work(signal);
  await operation.leave(signal);
  await held.release(plan.crash ? "crashed" : "completed");
  operation.released();
}

/** Resolves when stdin ends: the orchestrator's word to finish. */
async function stdinEnds(): Promise<void> {
  const reader = Deno.stdin.readable.getReader();
  try {
    while (!(await reader.read()).done) { /* only the end matters */ }
  } catch {
    /* closed */
  } finally {
    reader.releaseLock();
  }
}

async function main(config: WorkerConfig): Promise<void> {
  const random = Random.stream(config.seed, config.who);
  let op = 0;
  const emit: Emit = (event) =>
    console.log(JSON.stringify({ t: now(), who: config.who, op, ...event }));
  const finish = new AbortController();
  stdinEnds().then(() => finish.abort(new ChaosFinish("the run is over")));
  emit({ kind: "start", pid: Deno.pid });
  const stopProbe = probeLag(emit);
  const locker = new Locker({ url: config.url });
  while (!finish.signal.aborted) {
    op++;
    const plan = drawOp(random, config.resources, config.name);
    emit({ kind: "op", ...plan, steps: undefined, pauseAfter: undefined });
    const witness = new Witness(config.witness, `${config.who}.${op}`);
    const operation = new Operation(emit, witness, plan, finish.signal);
    await runOp(locker, plan, operation, emit, finish.signal);
    await sleep(plan.pauseAfter, finish.signal);
  }
  stopProbe();
  emit({ kind: "closing" });
  await locker.close();
  emit({ kind: "closed" });
}

if (import.meta.main) await main(JSON.parse(Deno.args[0]));
