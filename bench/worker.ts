/**
 * A bench worker process: runs the jobs of {@linkcode Job} read from stdin,
 * one JSON line each, and answers on stdout. Started by `pool.ts`.
 *
 * @module
 */

import { Redis } from "ioredis";
import { Locker } from "../mod.ts";
import { now, sleep } from "./clock.ts";
import { clientCpuUs } from "./cpu.ts";
import { countMessages, messagesReceived } from "./wakes.ts";
import { openPeer, type Peer } from "./peers.ts";
import { jsonLine, readJsonLines } from "./json_lines.ts";
import {
  type Answer,
  type Cycle,
  type CyclesJob,
  type EchoJob,
  type HoldJob,
  type Job,
  READY_ID,
  type ResourcesJob,
  type WaitersJob,
} from "./jobs.ts";

let peer: Peer | undefined;
let locker: Locker | undefined;

function answer(id: number, stage: string, data?: unknown): void {
  const line: Answer = { id, stage, data };
  Deno.stdout.writeSync(jsonLine(line));
}

function opened(): Peer {
  if (!peer) throw new Error("no peer opened: send an open job first");
  return peer;
}

async function cycles(id: number, job: CyclesJob): Promise<void> {
  const out: Cycle[] = [];
  for (let i = 0; i < job.cycles; i++) {
    const ask = now();
    const acquiring = opened().acquire(job.resource);
    if (i === 0) answer(id, "asked");
    let held;
    try {
      held = await acquiring;
    } catch {
      out.push({ ask, failed: now() });
      continue;
    }
    const grant = now();
    if (job.holdMs > 0) await sleep(job.holdMs);
    const release = now();
    await held.release();
    out.push({ ask, grant, release, released: now(), ticket: held.ticket });
    if (job.workMs > 0) await sleep(job.workMs);
  }
  answer(id, "done", { cycles: out });
}

/** Client CPU and messages at the last MarkJob. */
let marked = { cpuUs: 0, messages: 0 };

async function waiters(id: number, job: WaitersJob): Promise<void> {
  countMessages();
  // One Locker per process, as an application would have.
  locker ??= new Locker({ url: job.url });
  const all = Array.from({ length: job.count }, async (_, i) => {
    const lock = await locker!.lock(job.resource, { label: `waiter ${i}` });
    await lock.release();
  });
  answer(id, "asked");
  await Promise.all(all);
  answer(id, "done", {
    cpuUs: clientCpuUs() - marked.cpuUs,
    messages: messagesReceived() - marked.messages,
  });
}

function mark(id: number): void {
  marked = { cpuUs: clientCpuUs(), messages: messagesReceived() };
  answer(id, "done");
}

async function hold(id: number, job: HoldJob): Promise<void> {
  await opened().acquire(job.resource);
  answer(id, "held", { grant: now() });
}

async function resources(id: number, job: ResourcesJob): Promise<void> {
  await using many = new Locker({ url: job.url });
  await many.status(["bench:warmup"]);
  const baseRssMiB = await memoryMiB("VmRSS");
  const start = now();
  let next = 0;
  const task = async () => {
    while (next < job.count) {
      const lock = await many.lock(`bench:resource:${next++}`);
      await lock.release();
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, task));
  const ms = now() - start;
  answer(id, "done", { ms, baseRssMiB, peakRssMiB: await memoryMiB("VmHWM") });
}

async function echo(id: number, job: EchoJob): Promise<void> {
  const redis = new Redis(job.url);
  const subscriber = redis.duplicate();
  const sha = await redis.script("LOAD", "return 1") as string;
  const times: [number, number][] = [];
  const finished = Promise.withResolvers<void>();
  subscriber.on("message", async () => {
    const arrived = now();
    await redis.evalsha(sha, 0);
    times.push([arrived, now()]);
    await redis.publish(job.reply, "");
    if (times.length === job.count) finished.resolve();
  });
  await subscriber.subscribe(job.channel);
  answer(id, "ready");
  await finished.promise;
  subscriber.disconnect();
  redis.disconnect();
  answer(id, "done", { times });
}

/** Resident set size now (`VmRSS`) or at its peak (`VmHWM`), Linux only. */
async function memoryMiB(field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await Deno.readTextFile("/proc/self/status");
  const kib = Number(
    new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1],
  );
  return kib / 1024;
}

async function run(id: number, job: Job): Promise<void> {
  switch (job.kind) {
    case "open":
      await peer?.[Symbol.asyncDispose]();
      peer = await openPeer(job.peer, job);
      return answer(id, "done");
    case "cycles":
      return await cycles(id, job);
    case "waiters":
      return await waiters(id, job);
    case "hold":
      return await hold(id, job);
    case "resources":
      return await resources(id, job);
    case "echo":
      return await echo(id, job);
    case "mark":
      return mark(id);
    case "close":
      await peer?.[Symbol.asyncDispose]();
      await locker?.close();
      answer(id, "done");
      Deno.exit(0);
  }
}

answer(READY_ID, "ready");
for await (const line of readJsonLines(Deno.stdin.readable)) {
  const { id, job } = line as { id: number; job: Job };
  run(id, job).catch((error) => answer(id, "error", String(error)));
}
// The bench has gone (or gave up): do not linger with jobs in flight.
Deno.exit(0);
