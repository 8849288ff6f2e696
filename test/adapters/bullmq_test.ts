/**
 * The BullMQ middleware with real BullMQ workers in separate processes and a
 * real redis-server, on BullMQ 6 and on BullMQ 5.
 *
 * @module
 */

import { deepEqual, match, ok } from "node:assert/strict";
import { Queue as Queue6 } from "bullmq";
import { Queue as Queue5 } from "bullmq-v5";
import { Redis } from "ioredis";
import { Locker } from "../../mod.ts";
import { presenceKey, resourceKeys } from "../../src/redis/keys.ts";
import { startRedis } from "../../support/redis_server.ts";
import {
  until,
  type Version,
  VERSIONS,
  WorkerProcess,
  type WorkerSpec,
} from "./bullmq/fixtures.ts";
import type { JobData, Run, WorkerEvent } from "./bullmq/protocol.ts";

const QUEUE = "jobs";

/** What the tests need of a BullMQ Queue; both majors' queues have it. */
interface TestQueue {
  add(
    name: string,
    data: JobData,
    opts?: { attempts?: number },
  ): Promise<{ id?: string }>;
  getJobLogs(id: string): Promise<{ logs: string[] }>;
  getJobState(id: string): Promise<string>;
  getJob(
    id: string,
  ): Promise<{ attemptsMade: number; processedOn?: number } | undefined>;
  close(): Promise<void>;
}

const QUEUES: Record<
  Version,
  new (name: string, opts: { connection: { url: string } }) => TestQueue
> = {
  "6": Queue6,
  "5": Queue5,
};

/** One test's Redis, queue, locker and worker processes, torn down in order. */
class Setup implements AsyncDisposable {
  readonly workers: WorkerProcess[] = [];
  readonly db: Redis;
  readonly queue: TestQueue;
  readonly locker: Locker;

  constructor(
    readonly version: Version,
    readonly server: { url: string; stop(): Promise<void> },
  ) {
    this.db = new Redis(server.url);
    this.queue = new QUEUES[version](QUEUE, {
      connection: { url: server.url },
    });
    this.locker = new Locker({ url: server.url });
  }

  static async start(version: Version): Promise<Setup> {
    return new Setup(version, await startRedis());
  }

  async worker(
    name: string,
    spec: Partial<WorkerSpec> = {},
  ): Promise<WorkerProcess> {
    const worker = await WorkerProcess.start({
      version: this.version,
      redis: this.server.url,
      queue: QUEUE,
      name,
      ...spec,
    });
    this.workers.push(worker);
    ok(
      worker.bullmq.includes(`/bullmq@${this.version}.`),
      `${name} should load bullmq ${this.version}: ${worker.bullmq}`,
    );
    return worker;
  }

  async add(data: JobData, opts?: { attempts?: number }): Promise<string> {
    const job = await this.queue.add("job", data, opts);
    return job.id!;
  }

  async runs(): Promise<Run[]> {
    return (await this.db.lrange("runs", 0, -1)).map((line) =>
      JSON.parse(line)
    );
  }

  /** Users in the queue of `resource`, by label. */
  async users(resource: string): Promise<string[]> {
    const [status] = await this.locker.status([resource]);
    return status?.users.map((user) => user.label) ?? [];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const worker of this.workers) await worker[Symbol.asyncDispose]();
    await this.queue.close();
    await this.locker.close();
    this.db.disconnect();
    await this.server.stop();
  }
}

/** The label the middleware gives a job by default. */
const label = (id: string): string => `${QUEUE}#${id}`;

const is = (event: WorkerEvent["event"], id?: string) => (e: WorkerEvent) =>
  e.event === event && (id === undefined || ("id" in e && e.id === id));

function count(
  workers: WorkerProcess[],
  matches: (e: WorkerEvent) => boolean,
): number {
  return workers.reduce((n, w) => n + w.events.filter(matches).length, 0);
}

function overlaps(a: Run, b: Run): boolean {
  return a.start < b.end && b.start < a.end;
}

/** The ticket number each job was granted, from its job log. */
async function ticketOf(queue: TestQueue, id: string): Promise<number> {
  const { logs } = await queue.getJobLogs(id);
  const granted = logs.map((l) => l.match(/granted #(\d+)$/)).find(Boolean);
  ok(granted, `job ${id} logged no grant: ${JSON.stringify(logs)}`);
  return Number(granted[1]);
}

for (const version of VERSIONS) {
  Deno.test(`bullmq ${version}: 60 jobs over 3 accounts on 3 workers take turns per account`, async () => {
    await using setup = await Setup.start(version);
    const workers = await Promise.all(
      ["w1", "w2", "w3"].map((name) => setup.worker(name, { concurrency: 4 })),
    );
    const jobs = new Map<string, string>(); // job id -> account
    for (let i = 0; i < 60; i++) {
      const account = `account:${i % 3}`;
      jobs.set(await setup.add({ resource: account, work: 40 }), account);
    }
    await until(
      () => count(workers, is("completed")) === 60,
      "60 completed jobs",
    );
    deepEqual(count(workers, is("failed")), 0);

    const runs = await setup.runs();
    deepEqual(
      runs.map((r) => r.id).sort(),
      [...jobs.keys()].sort(),
      "each job ran exactly once",
    );
    deepEqual(
      Math.max(...runs.map((r) => r.level)),
      1,
      "jobs of one account never overlapped",
    );
    ok(
      new Set(runs.map((r) => r.name)).size > 1,
      "more than one worker took part",
    );

    // `runs` is appended to inside the turn, so per account it is in turn order.
    for (const account of new Set(jobs.values())) {
      const order = runs.filter((r) => jobs.get(r.id) === account);
      const tickets = await Promise.all(
        order.map((r) => ticketOf(setup.queue, r.id)),
      );
      deepEqual(
        tickets,
        [...tickets].sort((a, b) => a - b),
        `${account} granted in ticket order`,
      );
    }

    const accounts = [...new Set(jobs.values())];
    for (const [i, a] of accounts.entries()) {
      for (const b of accounts.slice(i + 1)) {
        const parallel = runs.some((x) =>
          jobs.get(x.id) === a &&
          runs.some((y) => jobs.get(y.id) === b && overlaps(x, y))
        );
        ok(
          parallel,
          `some job of ${a} ran at the same time as one of ${b}`,
        );
      }
    }
    const serial = runs.reduce((sum, r) => sum + r.end - r.start, 0);
    const span = Math.max(...runs.map((r) => r.end)) -
      Math.min(...runs.map((r) => r.start));
    console.log(`bullmq ${version}: ${serial} ms of work done in ${span} ms`);
  });

  Deno.test(`bullmq ${version}: capacity 2 runs at most 2 jobs of one key at once across every worker, and 2 do`, async () => {
    await using setup = await Setup.start(version);
    const workers = await Promise.all(
      ["w1", "w2"].map((name) =>
        setup.worker(name, { concurrency: 3, capacity: 2 })
      ),
    );
    for (let i = 0; i < 8; i++) {
      await setup.add({ resource: "partner-api", work: 200 });
    }
    await until(
      () => count(workers, is("completed")) === 8,
      "8 completed jobs",
    );
    deepEqual(count(workers, is("failed")), 0);
    const runs = await setup.runs();
    deepEqual(
      Math.max(...runs.map((r) => r.level)),
      2,
      "2 jobs of the key ran at once, never more",
    );
  });

  Deno.test(`bullmq ${version}: cancelling a job leaves the queue and the next one proceeds`, async () => {
    await using setup = await Setup.start(version);
    const worker = await setup.worker("w1", { concurrency: 3 });
    const holder = await setup.add({ resource: "printer", gate: true });
    await worker.waitFor(is("entered", holder), "holder entered");
    const waiter = await setup.add({ resource: "printer" });
    const next = await setup.add({ resource: "printer" });
    await worker.waitFor(is("queued", next), "next queued");
    await worker.waitFor(is("queued", waiter), "waiter queued");
    deepEqual(
      await setup.users("printer"),
      [holder, waiter, next].map(label),
    );

    await worker.cancel(waiter);
    const failed = await worker.waitFor(is("failed", waiter), "waiter failed");
    match(
      (failed as { reason: string }).reason,
      /cancelled while waiting for its turn: cancelled by the test/,
    );
    deepEqual(await setup.users("printer"), [holder, next].map(label));

    // Cancelling the holder aborts its processor's signal; the turn moves on.
    await worker.cancel(holder);
    await worker.waitFor(is("failed", holder), "holder failed");
    await worker.waitFor(is("completed", next), "next completed");
    deepEqual((await setup.runs()).map((r) => r.id), [holder, next]);
    deepEqual(await setup.users("printer"), []);
  });

  Deno.test(`bullmq ${version}: a lost lease aborts the processor's signal`, async () => {
    await using setup = await Setup.start(version);
    const worker = await setup.worker("w1", { concurrency: 2, expire: 300 });
    const holder = await setup.add({ resource: "r", gate: true });
    await worker.waitFor(is("entered", holder), "holder entered");
    const [{ users: [{ number }] }] = await setup.locker.status(["r"]);
    await setup.db.del(presenceKey(resourceKeys("r"), number));
    const failed = await worker.waitFor(is("failed", holder), "holder failed");
    match(
      (failed as { reason: string }).reason,
      /^aborted: LeaseLostError: lost the turn on "r"/,
    );
  });

  Deno.test(`bullmq ${version}: a job that returns after its lease was lost completes, and its log says so`, async () => {
    await using setup = await Setup.start(version);
    const worker = await setup.worker("w1", { expire: 300 });
    const job = await setup.add({ resource: "r", block: 1_500 });
    await worker.waitFor(is("completed", job), "job completed");
    const { logs } = await setup.queue.getJobLogs(job);
    ok(
      logs.some((line) =>
        line.startsWith(
          'turn lost or not released after the job: LeaseLostError: lost the turn on "r"',
        )
      ),
      JSON.stringify(logs),
    );
    deepEqual(await setup.users("r"), []);
  });

  Deno.test(`bullmq ${version}: waiting 3 x lockDuration for a turn does not stall the job`, async () => {
    await using setup = await Setup.start(version);
    const lockDuration = 1000;
    const worker = await setup.worker("w1", {
      concurrency: 2,
      lockDuration,
      stalledInterval: 500,
    });
    const first = await setup.add({ resource: "r", work: 3.5 * lockDuration });
    await worker.waitFor(is("entered", first), "first entered");
    const second = await setup.add({ resource: "r" });
    await worker.waitFor(is("completed", second), "second completed");

    const runs = await setup.runs();
    deepEqual(runs.map((r) => r.id), [first, second], "each ran once");
    const processedOn = (await setup.queue.getJob(second))?.processedOn ?? NaN;
    ok(
      runs[1].start - processedOn > 3 * lockDuration,
      "second waited over 3 x lockDuration",
    );
    deepEqual(worker.saw(is("stalled")), false);
    deepEqual(worker.saw(is("failed")), false);
  });

  Deno.test(`bullmq ${version}: worker.close() gives waiting jobs back, another worker runs them once`, async () => {
    await using setup = await Setup.start(version);
    await using held = await setup.locker.lock("r", { label: "someone else" });
    const closing = await setup.worker("closing", { concurrency: 3 });
    const jobs = [
      await setup.add({ resource: "r" }),
      await setup.add({ resource: "r" }),
    ];
    for (const id of jobs) {
      await closing.waitFor(is("queued", id), `${id} queued`);
    }

    await closing.close(); // returns while "r" is still held by someone else
    deepEqual(
      await setup.users("r"),
      ["someone else"],
      "the tickets were given up",
    );
    for (const id of jobs) {
      deepEqual(await setup.queue.getJobState(id), "waiting");
    }
    deepEqual(closing.saw(is("failed")), false);

    const taking = await setup.worker("taking", { concurrency: 3 });
    await held.release();
    for (const id of jobs) {
      await taking.waitFor(is("completed", id), `${id} completed`);
    }
    const runs = await setup.runs();
    deepEqual(
      runs.map((r) => r.id).sort(),
      [...jobs].sort(),
      "each ran exactly once",
    );
    ok(runs.every((r) => r.name === "taking"));
    for (const id of jobs) {
      deepEqual((await setup.queue.getJob(id))?.attemptsMade, 1);
    }
  });

  Deno.test(`bullmq ${version}: onBusy "delay" frees the slot and does not use up an attempt`, async () => {
    await using setup = await Setup.start(version);
    await using held = await setup.locker.lock("r", { label: "someone else" });
    const worker = await setup.worker("w1", {
      concurrency: 1,
      onBusy: "delay",
      delay: 200,
    });
    const busy = await setup.add({ resource: "r" }, { attempts: 1 });
    const other = await setup.add({ resource: "other" }, { attempts: 1 });
    // With one slot, "other" only runs because "busy" stepped aside.
    await worker.waitFor(is("completed", other), "other completed");
    deepEqual(worker.saw(is("entered", busy)), false);
    deepEqual(
      await setup.users("r"),
      ["someone else"],
      "a delayed job holds no ticket",
    );
    const { logs } = await setup.queue.getJobLogs(busy);
    match(logs.join("\n"), /turn on r: busy, retrying in 200 ms/);

    await held.release();
    await worker.waitFor(is("completed", busy), "busy completed");
    deepEqual((await setup.runs()).map((r) => r.id), [other, busy]);
    deepEqual(worker.saw(is("failed")), false);
  });

  Deno.test(`bullmq ${version}: a job whose turn does not come within timeout fails and leaves the queue`, async () => {
    await using setup = await Setup.start(version);
    await using _held = await setup.locker.lock("r", { label: "someone else" });
    const worker = await setup.worker("w1", { timeout: 300 });
    const late = await setup.add({ resource: "r" });
    const failed = await worker.waitFor(is("failed", late), "late failed");
    match(
      (failed as { reason: string }).reason,
      /^timed out after 300 ms waiting for "r": 1 user\(s\) still ahead$/,
    );
    deepEqual(await setup.users("r"), ["someone else"]);
  });

  Deno.test(`bullmq ${version}: a bad resource() fails only its own job`, async () => {
    await using setup = await Setup.start(version);
    const worker = await setup.worker("w1", { concurrency: 3 });
    const throws = await setup.add({ resource: "r", bad: "throw" });
    const number = await setup.add({ resource: "r", bad: "number" });
    const good = await setup.add({ resource: "r" });
    await worker.waitFor(is("completed", good), "good completed");
    const reasons = await Promise.all(
      [throws, number].map(async (id) =>
        ((await worker.waitFor(is("failed", id), `${id} failed`)) as {
          reason: string;
        }).reason
      ),
    );
    deepEqual(reasons, [
      `resource(job) threw for job ${
        label(throws)
      }: Error: no account on this job`,
      `resource(job) for job ${
        label(number)
      }: resource must be a string: got 42`,
    ]);
    deepEqual((await setup.runs()).map((r) => r.id), [good]);
  });

  Deno.test(`bullmq ${version}: several resources are taken in sorted order; null needs no turn`, async () => {
    await using setup = await Setup.start(version);
    await using held = await setup.locker.lock("a", { label: "someone else" });
    const worker = await setup.worker("w1", { concurrency: 2 });
    const both = await setup.add({ resource: ["b", "a"] });
    await worker.waitFor(is("queued", both), "both queued");
    deepEqual(await setup.users("b"), [], "b is not taken before a");
    const free = await setup.add({ resource: null });
    await worker.waitFor(is("completed", free), "free completed");

    await held.release();
    await worker.waitFor(is("completed", both), "both completed");
    deepEqual(await setup.users("a"), []);
    deepEqual(await setup.users("b"), []);
    deepEqual(Math.max(...(await setup.runs()).map((r) => r.level)), 1);
  });
}
