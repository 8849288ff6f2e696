// A BullMQ worker whose processor is wrapped in `withTurn` from the npm
// package: jobs of one account take turns across two workers, while jobs of
// different accounts still run in parallel.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { Locker } from "@turn/turn";
import { withTurn } from "@turn/turn/bullmq";
import { startRedis } from "./redis.js";
import { sleep, waitFor, witnessed } from "./helpers.js";

const ACCOUNTS = ["alice", "bob"];
const JOBS = 24;

interface Charge {
  readonly account: string;
}

test("withTurn: jobs of one account never overlap across two workers", async () => {
  await using server = await startRedis();
  const connection = { url: server.url };
  const redis = new Redis(server.url);
  await using locker = new Locker({ url: server.url });
  const shutdown = new AbortController();
  const workers = ["w1", "w2"].map((name) =>
    new Worker<Charge>(
      "charges",
      withTurn(locker, {
        resource: (job) => `account:${job.data.account}`,
        shutdown: shutdown.signal,
      }, async (job, _token, signal) => {
        assert.ok(signal instanceof AbortSignal);
        await witnessed(redis, `account:${job.data.account}`, async () => {
          await witnessed(redis, "any", () => sleep(15));
          await redis.rpush("charged", `${name} ${job.id}`);
        });
      }),
      { connection, concurrency: 4 },
    )
  );
  const queue = new Queue<Charge>("charges", { connection });
  try {
    await queue.addBulk(
      Array.from({ length: JOBS }, (_, i) => ({
        name: "charge",
        data: { account: ACCOUNTS[i % ACCOUNTS.length] },
      })),
    );
    await waitFor(
      async () => (await redis.llen("charged")) === JOBS,
      `${JOBS} jobs charged`,
    );
    for (const account of ACCOUNTS) {
      assert.equal(await redis.get(`account:${account}:max`), "1", account);
    }
    // Different accounts did run at the same time: turns are per resource.
    assert.equal(await redis.get("any:max"), "2");
    const ids = (await redis.lrange("charged", 0, -1)).map((line) =>
      line.split(" ")[1]
    );
    assert.equal(new Set(ids).size, JOBS, "every job exactly once");
  } finally {
    shutdown.abort();
    await Promise.all(workers.map((worker) => worker.close()));
    await queue.close();
    redis.disconnect();
  }
});
