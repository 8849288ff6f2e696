/**
 * The worker processes of a run: spawning them, following what each does
 * (from the events it prints), and the process faults (SIGKILL with a
 * restart, SIGSTOP then SIGCONT).
 *
 * @module
 */

import { type ChaosEvent, now, parseEvent } from "./history.ts";
import type { WorkerConfig } from "./worker.ts";

const WORKER = new URL("./worker.ts", import.meta.url).pathname;
/** The stderr lines kept of each worker: enough for an uncaught error's trace. */
const STDERR_LINES = 30;
/** A terminal colour code (ESC [ ... m). */
const COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** Where a worker process stands, as its events tell. */
type Role = "holder" | "waiter" | "idle";

/** One incarnation of a worker. */
class WorkerProcess {
  readonly name: string;
  readonly who: string;
  readonly child: Deno.ChildProcess;
  readonly exited: Promise<void>;
  role: Role = "idle";
  stopped = false;
  killed = false;
  closedAt: number | undefined;
  readonly stderr: string[] = [];
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(
    name: string,
    who: string,
    config: WorkerConfig,
    record: (event: ChaosEvent) => void,
  ) {
    this.name = name;
    this.who = who;
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", WORKER, JSON.stringify(config)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    record({ t: now(), who, kind: "spawn", pid: this.child.pid });
    const reading = Promise.all([
      this.#read(this.child.stdout, (line) => {
        const event = parseEvent(line);
        if (event === undefined) return;
        this.#follow(event);
        record(event);
      }),
      this.#read(this.child.stderr, (line) => {
        // Without colours: the lines go into the history and the report.
        this.stderr.push(line.replace(COLOUR, ""));
        if (this.stderr.length > STDERR_LINES) this.stderr.shift();
      }),
    ]);
    this.exited = this.child.status.then(async ({ code, signal }) => {
      await reading;
      // What a worker that died on its own said last: the cause, for the report.
      const said = code !== 0 && !this.killed
        ? { stderr: this.stderr.slice(-STDERR_LINES) }
        : {};
      record({ t: now(), who, kind: "exit", code, signal, ...said });
    });
  }

  get alive(): boolean {
    return !this.killed && this.closedAt === undefined;
  }

  #follow(event: ChaosEvent): void {
    switch (event.kind) {
      case "acquiring":
        if (this.role === "idle") this.role = "waiter";
        break;
      case "granted":
        this.role = "holder";
        break;
      case "released":
      case "failed":
      case "busy":
        this.role = "idle";
        break;
      case "closed":
        this.closedAt = event.t;
    }
  }

  async #read(
    stream: ReadableStream<Uint8Array>,
    line: (text: string) => void,
  ): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      lines.forEach(line);
    }
    if (rest) line(rest);
  }

  signal(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Closes stdin: the worker's word to finish. */
  async finish(): Promise<void> {
    await this.#stdin.close().catch(() => {});
  }
}

/**
 * The worker processes of a run.
 *
 * @example
 * ```ts ignore
 * import { Workers } from "./workers.ts";
 * const workers = new Workers(config, 5, (event) => console.log(event));
 * ```
 */
export class Workers {
  readonly #base: Omit<WorkerConfig, "name" | "who">;
  readonly #record: (event: ChaosEvent) => void;
  readonly #all: WorkerProcess[] = [];
  readonly #incarnations = new Map<string, number>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #ending = false;

  /** `count` workers on `base`'s settings, each event handed to `record`. */
  constructor(
    base: Omit<WorkerConfig, "name" | "who">,
    count: number,
    record: (event: ChaosEvent) => void,
  ) {
    this.#base = base;
    this.#record = record;
    for (let i = 0; i < count; i++) this.#spawn(`w${i}`);
  }

  #spawn(name: string): void {
    const incarnation = this.#incarnations.get(name) ?? 0;
    this.#incarnations.set(name, incarnation + 1);
    const who = `${name}.${incarnation}`;
    this.#all.push(
      new WorkerProcess(name, who, { ...this.#base, name, who }, this.#record),
    );
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** A live, running worker in `role` (any, if none is), chosen by `pick`. */
  choose(role: Role, pick: number): WorkerProcess | undefined {
    const running = this.#all.filter((w) => w.alive && !w.stopped);
    const inRole = running.filter((w) => w.role === role);
    const from = inRole.length ? inRole : running;
    return from[Math.floor(pick * from.length)];
  }

  /** SIGKILL, then a fresh incarnation after `restartMs`. */
  kill(worker: WorkerProcess, restartMs: number): void {
    worker.killed = true;
    worker.signal("SIGKILL");
    this.#later(restartMs, () => {
      if (!this.#ending) this.#spawn(worker.name);
    });
  }

  /** SIGSTOP, and SIGCONT after `ms` (or when the run ends). */
  stop(worker: WorkerProcess, ms: number): void {
    worker.stopped = true;
    worker.signal("SIGSTOP");
    this.#later(ms, () => this.#cont(worker));
  }

  #cont(worker: WorkerProcess): void {
    if (!worker.stopped) return;
    worker.stopped = false;
    if (worker.killed) return;
    worker.signal("SIGCONT");
    this.#record({
      t: now(),
      who: "chaos",
      kind: "sigcont",
      target: worker.who,
    });
  }

  /**
   * Ends the run: continues stopped workers, asks every live one to finish,
   * and waits for each to close within `closeMs` and then exit by itself
   * within `exitMs`. A worker that does not is recorded as hung and killed.
   */
  async end(closeMs: number, exitMs: number): Promise<void> {
    this.#ending = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const worker of this.#all) this.#cont(worker);
    await Promise.all(this.#all.map(async (worker) => {
      if (!worker.killed) {
        await worker.finish();
        const bounded = await settles(worker.exited, closeMs + exitMs);
        const lateExit = worker.closedAt !== undefined &&
          now() - worker.closedAt > exitMs;
        if (!bounded || lateExit) this.#hung(worker);
      }
      await worker.exited;
    }));
  }

  #hung(worker: WorkerProcess): void {
    this.#record({ t: now(), who: "chaos", kind: "hung", target: worker.who });
    worker.signal("SIGKILL");
    console.error(`${worker.who} did not exit by itself; its stderr:`);
    console.error(worker.stderr.join("\n"));
  }
}

async function settles(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
