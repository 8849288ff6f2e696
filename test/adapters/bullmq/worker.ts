/**
 * A BullMQ worker process for the tests. Which BullMQ it loads is decided by
 * the import map it runs with (see `fixtures.ts`), exactly as in an
 * application. It talks to the test through lines of JSON: events on stdout,
 * commands on stdin (`{"cancel": id}`, `{"close": true}`).
 *
 * Each run records itself in Redis for the test to check: a witness counter
 * per resource (INCR on entry, DECR on exit; the highest level seen on entry
 * must be 1) and a `runs` list entry with the interval the job held its turn.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { Locker } from "../../../mod.ts";
import { type BusyStrategy, withTurn } from "../../../adapters/bullmq.ts";
import type { JobData, Run, WorkerEvent } from "./protocol.ts";

const { values } = parseArgs({
  options: {
    redis: { type: "string" },
    queue: { type: "string" },
    name: { type: "string" },
    concurrency: { type: "string", default: "1" },
    "lock-duration": { type: "string", default: "30000" },
    "stalled-interval": { type: "string", default: "30000" },
    "on-busy": { type: "string", default: "wait" },
    delay: { type: "string", default: "1000" },
    expire: { type: "string", default: "60000" },
    timeout: { type: "string" },
    capacity: { type: "string" },
  },
});
const url = values.redis!;
const name = values.name!;

const redis = new Redis(url);
const locker = new Locker({ url });
const shutdown = new AbortController();

function emit(event: WorkerEvent): void {
  console.log(JSON.stringify(event));
}

function resourceOf(data: JobData): string | string[] | null {
  if (data.bad === "throw") throw new Error("no account on this job");
  if (data.bad === "number") return 42 as unknown as string;
  return data.resource ?? null;
}

const processor = withTurn(locker, {
  resource: (job) => resourceOf(job.data),
  onBusy: values["on-busy"] as BusyStrategy,
  delay: Number(values.delay),
  expire: Number(values.expire),
  timeout: values.timeout === undefined ? undefined : Number(values.timeout),
  capacity: values.capacity === undefined ? undefined : Number(values.capacity),
  shutdown: shutdown.signal,
  onQueue: (job, resource, ahead) =>
    emit({ event: "queued", id: job.id!, resource, ahead }),
}, async (job, _token, signal, locks) => {
  const data: JobData = job.data;
  const witnesses = [data.resource ?? []].flat().map((r) => `witness:${r}`);
  const levels = await Promise.all(witnesses.map((key) => redis.incr(key)));
  const start = Date.now();
  emit({ event: "entered", id: job.id! });
  try {
    if (data.block) blockFor(data.block);
    else {await (data.gate
        ? gate(job.id!, signal)
        : sleep(data.work ?? 0, signal));}
  } finally {
    const level = Math.max(0, ...levels);
    const fences = locks.map((lock) => String(lock.fence));
    const end = Date.now();
    const run: Run = { id: job.id!, name, level, fences, start, end };
    await Promise.all(witnesses.map((key) => redis.decr(key)));
    await redis.rpush("runs", JSON.stringify(run));
  }
  return name;
});

const worker = new Worker(values.queue!, processor, {
  connection: { url },
  concurrency: Number(values.concurrency),
  lockDuration: Number(values["lock-duration"]),
  stalledInterval: Number(values["stalled-interval"]),
});
worker.on("closing", () => shutdown.abort());
worker.on("completed", (job) => emit({ event: "completed", id: job.id! }));
worker.on(
  "failed",
  (job, error) =>
    emit({ event: "failed", id: job?.id ?? "", reason: error.message }),
);
worker.on("stalled", (id) => emit({ event: "stalled", id }));
worker.on("error", (error) => console.error(`worker error: ${error}`));

/** Holds the job until the test pushes to `gate:<id>`, or it is cancelled. */
async function gate(id: string, signal: AbortSignal): Promise<void> {
  const connection = redis.duplicate();
  const abort = () => connection.disconnect();
  signal.addEventListener("abort", abort, { once: true });
  try {
    await connection.blpop(`gate:${id}`, 0);
  } catch (error) {
    if (signal.aborted) throw new Error(`aborted: ${signal.reason}`);
    throw error;
  } finally {
    signal.removeEventListener("abort", abort);
    connection.disconnect();
  }
}

/** Keeps the event loop busy: no heartbeat runs, so the lease lapses. */
function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new Error(`aborted: ${signal.reason}`));
    }, { once: true });
  });
}

async function close(): Promise<void> {
  const started = Date.now();
  await worker.close();
  emit({ event: "closed", ms: Date.now() - started });
  await locker.close();
  redis.disconnect();
}

async function serve(): Promise<void> {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffer = "";
  for await (const chunk of lines) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const command = JSON.parse(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      if (command.cancel !== undefined) {
        const found = worker.cancelJob(command.cancel, "cancelled by the test");
        emit({ event: "cancelled", id: command.cancel, found });
      }
      if (command.close) return await close();
    }
  }
  await close(); // the test went away
}

await worker.waitUntilReady();
emit({ event: "ready", bullmq: import.meta.resolve("bullmq") });
await serve();
