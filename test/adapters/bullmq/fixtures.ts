/**
 * BullMQ worker processes for the tests, on either supported major version.
 *
 * The project's import map says `"bullmq": "npm:bullmq@^6"`. A 5.x worker runs
 * with an import map that is the project's, but with `bullmq` pointing at the
 * `bullmq-v5` entry: the adapter and the worker then load BullMQ 5 through the
 * same bare specifier an application on 5.x would use.
 *
 * @module
 */

import type { WorkerEvent } from "./protocol.ts";

/** The BullMQ major versions the adapter supports and is tested with. */
export const VERSIONS = ["6", "5"] as const;
/** One of {@linkcode VERSIONS}. */
export type Version = typeof VERSIONS[number];

const ROOT = new URL("../../../", import.meta.url);
const WORKER = new URL("./worker.ts", import.meta.url);
const WAIT_MS = 60_000;

/** How to start a worker process. */
export interface WorkerSpec {
  readonly version: Version;
  readonly redis: string;
  readonly queue: string;
  readonly name: string;
  readonly concurrency?: number;
  readonly lockDuration?: number;
  readonly stalledInterval?: number;
  readonly onBusy?: "wait" | "delay";
  readonly delay?: number;
  readonly expire?: number;
  readonly timeout?: number;
  /** withTurn's `capacity`: per-key concurrency across every worker. */
  readonly capacity?: number;
}

let v5ImportMap: Promise<string> | undefined;

/**
 * The import map of the project and its test/ member, with `bullmq` meaning
 * the `bullmq-v5` entry.
 */
function importMapFor5(): Promise<string> {
  return v5ImportMap ??= (async () => {
    const imports: Record<string, string> = {};
    for (const dir of [ROOT, new URL("test/", ROOT)]) {
      const config = JSON.parse(
        await Deno.readTextFile(new URL("deno.json", dir)),
      );
      for (const [key, value] of Object.entries<string>(config.imports)) {
        imports[key] = new URL(value, dir).href; // relative to its deno.json
      }
    }
    imports.bullmq = imports["bullmq-v5"];
    const path = await Deno.makeTempFile({
      prefix: "turn-bullmq5-",
      suffix: ".json",
    });
    await Deno.writeTextFile(path, JSON.stringify({ imports }));
    return path;
  })();
}

async function argsFor(spec: WorkerSpec): Promise<string[]> {
  const map = spec.version === "5"
    ? ["--import-map", await importMapFor5()]
    : [];
  return [
    "run",
    "--allow-all",
    ...map,
    WORKER.pathname,
    `--redis=${spec.redis}`,
    `--queue=${spec.queue}`,
    `--name=${spec.name}`,
    `--concurrency=${spec.concurrency ?? 1}`,
    `--lock-duration=${spec.lockDuration ?? 30_000}`,
    `--stalled-interval=${spec.stalledInterval ?? 30_000}`,
    `--on-busy=${spec.onBusy ?? "wait"}`,
    `--delay=${spec.delay ?? 1000}`,
    `--expire=${spec.expire ?? 60_000}`,
    ...(spec.timeout ? [`--timeout=${spec.timeout}`] : []),
    ...(spec.capacity ? [`--capacity=${spec.capacity}`] : []),
  ];
}

// Every event of every worker process: `until` re-checks on each.
const bus = new EventTarget();

/**
 * Resolves with the first truthy result of `check`, re-run whenever a worker
 * process prints an event; rejects if none comes within a generous bound.
 */
export function until<T>(check: () => T | undefined, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = () => {
      const found = check();
      if (found === undefined || found === false) return;
      done();
      resolve(found);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${what} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      bus.removeEventListener("event", listener);
    };
    bus.addEventListener("event", listener);
    listener();
  });
}

/** A running worker process and the events it has printed so far. */
export class WorkerProcess implements AsyncDisposable {
  /** Every event printed so far, in order. */
  readonly events: WorkerEvent[] = [];
  readonly name: string;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #ended: Promise<unknown>;

  private constructor(name: string, child: Deno.ChildProcess) {
    this.name = name;
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#ended = Promise.all([child.status, this.#read(child.stdout)]);
  }

  /** Starts a worker and resolves once it is connected and taking jobs. */
  static async start(spec: WorkerSpec): Promise<WorkerProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: await argsFor(spec),
      cwd: ROOT.pathname,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const worker = new WorkerProcess(spec.name, child);
    await worker.waitFor((e) => e.event === "ready", "ready");
    return worker;
  }

  /** The `bullmq` module this worker loaded (a path naming its version). */
  get bullmq(): string {
    const ready = this.events.find((e) => e.event === "ready");
    return ready?.event === "ready" ? ready.bullmq : "";
  }

  /** Whether this worker printed an event that matches. */
  saw(match: (event: WorkerEvent) => boolean): boolean {
    return this.events.some(match);
  }

  /**
   * Resolves with the first event, printed before or after this call, that
   * matches; rejects if the process ends first or none comes in time.
   */
  async waitFor(
    match: (event: WorkerEvent) => boolean,
    what: string,
  ): Promise<WorkerEvent> {
    let ended = false;
    this.#ended.then(() => {
      ended = true;
      bus.dispatchEvent(new Event("event"));
    });
    const found = await until(
      () => this.events.find(match) ?? (ended ? null : undefined),
      `${what} from ${this.name}`,
    );
    if (!found) throw new Error(`${this.name} exited before ${what}`);
    return found;
  }

  /** Asks BullMQ to cancel a job (`worker.cancelJob`). */
  async cancel(id: string): Promise<void> {
    await this.#send({ cancel: id });
    await this.waitFor((e) => e.event === "cancelled" && e.id === id, "cancel");
  }

  /** Calls `worker.close()` and resolves once it returned. */
  async close(): Promise<void> {
    await this.#send({ close: true });
    await this.waitFor((e) => e.event === "closed", "closed");
  }

  async #send(command: unknown): Promise<void> {
    const line = `${JSON.stringify(command)}\n`;
    await this.#stdin.write(new TextEncoder().encode(line));
  }

  async #read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    let buffer = "";
    for await (const chunk of stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines.filter((l) => l.startsWith("{"))) {
        this.events.push(JSON.parse(line));
      }
      bus.dispatchEvent(new Event("event"));
    }
  }

  /** Closes stdin (the worker then closes itself) and waits for the exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), WAIT_MS);
    await this.#ended;
    clearTimeout(timer);
  }
}
