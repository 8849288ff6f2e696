/**
 * Worker processes for multi-process scenarios: real `deno` subprocesses
 * running `worker.ts`, driven by JSON lines.
 *
 * @module
 */

import { type Answer, type Job, READY_ID } from "./jobs.ts";
import { jsonLine, readJsonLines } from "./json_lines.ts";

const WORKER = new URL("./worker.ts", import.meta.url).pathname;

/** One worker process. */
export class WorkerProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #waiting = new Map<string, PromiseWithResolvers<unknown>>();
  readonly #failed = new Map<number, Error>();
  readonly #reading: Promise<void>;
  #nextId = 0;
  #exited = false;

  /** Starts `deno run -A <flags> worker.ts`; `flags` e.g. `--cpu-prof`. */
  constructor(flags: readonly string[] = []) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...flags, WORKER],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reading = this.#read();
  }

  /** Resolves once the process has loaded and listens for jobs. */
  ready(): Promise<void> {
    return this.#stage(READY_ID, "ready").then(() => {});
  }

  /** Sends `job`; returns a function that waits for each of its stages. */
  send(job: Job): (stage: string) => Promise<unknown> {
    const id = this.#nextId++;
    this.#writer.write(jsonLine({ id, job })).catch(() => {});
    return (stage) => this.#stage(id, stage);
  }

  /** Sends `job` and waits for its `done` stage. */
  run<T = unknown>(job: Job): Promise<T> {
    return this.send(job)("done") as Promise<T>;
  }

  /** Kills the process at once, as a crash would. */
  async kill(): Promise<void> {
    this.#child.kill("SIGKILL");
    await this.#child.status;
  }

  #stage(id: number, stage: string): Promise<unknown> {
    const failure = this.#failed.get(id) ??
      (this.#exited ? new Error("bench worker exited") : undefined);
    if (failure) return Promise.reject(failure);
    return this.#slot(`${id}:${stage}`).promise;
  }

  #slot(key: string): PromiseWithResolvers<unknown> {
    let slot = this.#waiting.get(key);
    if (!slot) this.#waiting.set(key, slot = Promise.withResolvers());
    return slot;
  }

  async #read(): Promise<void> {
    for await (const answer of readJsonLines(this.#child.stdout)) {
      this.#deliver(answer as Answer);
    }
    this.#exited = true;
    for (const slot of this.#waiting.values()) {
      slot.reject(new Error("bench worker exited"));
    }
  }

  #deliver({ id, stage, data }: Answer): void {
    if (stage !== "error") return this.#slot(`${id}:${stage}`).resolve(data);
    const error = new Error(`bench worker: ${data}`);
    this.#failed.set(id, error);
    for (const [key, slot] of this.#waiting) {
      if (key.startsWith(`${id}:`)) slot.reject(error);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#exited) await this.run({ kind: "close" }).catch(() => {});
    await this.#writer.close().catch(() => {});
    await this.#child.status;
    await this.#reading;
  }
}

/** Several workers, started together and disposed together. */
export class Pool implements AsyncDisposable {
  readonly workers: readonly WorkerProcess[];
  readonly #flags: readonly string[];

  /** Starts `size` workers with `deno run` flags `flags`. */
  constructor(size: number, flags: readonly string[] = []) {
    this.#flags = flags;
    this.workers = Array.from({ length: size }, () => this.spawn());
  }

  /** Starts one more worker with the pool's flags, owned by the caller. */
  spawn(): WorkerProcess {
    return new WorkerProcess(this.#flags);
  }

  /** Resolves once every worker is ready for jobs. */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.ready()));
  }

  /** Sends `job` to the first `count` workers and waits for all `done`. */
  runAll<T = unknown>(job: Job, count = this.workers.length): Promise<T[]> {
    return Promise.all(
      this.workers.slice(0, count).map((worker) => worker.run<T>(job)),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.workers.map((w) => w[Symbol.asyncDispose]()));
  }
}
