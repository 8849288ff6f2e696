/**
 * The BullMQ middleware hands each processor its locks, with their fencing
 * tokens: real BullMQ workers in separate processes, a real redis-server.
 *
 * @module
 */

import { deepEqual, ok } from "node:assert/strict";
import { Queue as Queue6 } from "bullmq";
import { Queue as Queue5 } from "bullmq-v5";
import { Redis } from "ioredis";
import { startRedis } from "../../support/redis_server.ts";
import {
  until,
  type Version,
  VERSIONS,
  WorkerProcess,
} from "./bullmq/fixtures.ts";
import type { JobData, Run } from "./bullmq/protocol.ts";

const QUEUE = "jobs";
/** What this test needs of a BullMQ Queue; both majors' queues have it. */
interface TestQueue {
  add(name: string, data: JobData): Promise<unknown>;
  close(): Promise<void>;
}

const QUEUES: Record<
  Version,
  new (name: string, opts: { connection: { url: string } }) => TestQueue
> = { "6": Queue6, "5": Queue5 };

for (const version of VERSIONS) {
  Deno.test(`bullmq ${version}: each processor gets its locks' fencing tokens, growing per resource in turn order`, async () => {
    await using server = await startRedis();
    const db = new Redis(server.url);
    const queue = new QUEUES[version](QUEUE, {
      connection: { url: server.url },
    });
    const workers: WorkerProcess[] = [];
    try {
      for (const name of ["w1", "w2"]) {
        workers.push(
          await WorkerProcess.start({
            version,
            redis: server.url,
            queue: QUEUE,
            name,
            concurrency: 3,
          }),
        );
      }
      const jobs: JobData[] = [
        ...Array.from({ length: 8 }, () => ({ resource: "a", work: 20 })),
        ...Array.from(
          { length: 4 },
          () => ({ resource: ["b", "a"], work: 20 }),
        ),
        { resource: null },
      ];
      for (const data of jobs) await queue.add("job", data);
      const completed = () =>
        workers.reduce(
          (n, w) => n + w.events.filter((e) => e.event === "completed").length,
          0,
        );
      await until(() => completed() === jobs.length, "every job");
      const runs: Run[] = (await db.lrange("runs", 0, -1)).map((line) =>
        JSON.parse(line)
      );
      deepEqual(Math.max(...runs.map((r) => r.level)), 1);
      // A job with no resource holds no turn, so it gets no token.
      deepEqual(runs.filter((r) => r.fences.length === 0).length, 1);
      // Two resources: two tokens, in sorted order (a, then b).
      deepEqual(runs.filter((r) => r.fences.length === 2).length, 4);
      // `runs` is appended to inside the turn, so per resource it is in turn
      // order: each resource's tokens must strictly grow along it.
      for (const [index, resource] of ["a", "b"].entries()) {
        const fences = runs
          .filter((r) => r.fences.length > index)
          .map((r) => BigInt(r.fences[index]));
        deepEqual(fences.length, resource === "a" ? 12 : 4);
        for (let k = 1; k < fences.length; k++) {
          ok(fences[k] > fences[k - 1], `${resource}: ${fences.join(" ")}`);
        }
      }
    } finally {
      for (const worker of workers) await worker[Symbol.asyncDispose]();
      await queue.close();
      db.disconnect();
    }
  });
}
