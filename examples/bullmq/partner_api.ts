// `deno run -A examples/bullmq/partner_api.ts`: per-key concurrency N across
// every worker. A partner API takes at most 3 calls at once per account. Two
// BullMQ workers (concurrency 5 each) run 20 jobs for one account;
// `withTurn(locker, { resource, capacity: 3 }, processor)` lets 3 of them call
// at once, in the order they asked, whichever worker runs them. A counter
// beside the calls shows the most that were ever inside at once.
//
// Uses the Redis a Locker takes from the environment (TURN_URL,
// TURN_REDIS_URL, REDIS_URL), else a throwaway redis-server on a free port.
// It removes its queue and counter when done, and touches no other key.
import { Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import { Locker } from "@turn/turn";
import { withTurn } from "@turn/turn/bullmq";
import { exampleRedis } from "../example_redis.ts";

const QUEUE = "turn-example-partner-calls";
const INSIDE = "turn-example:partner-calls:inside";
const MOST = "turn-example:partner-calls:most";
const JOBS = 20;
const CAPACITY = 3;

await using example = await exampleRedis();
const { url } = example;
const redis = new Redis(url);
await redis.del(INSIDE, MOST);
await using locker = new Locker({ url });

const workers = ["worker-1", "worker-2"].map((name) =>
  new Worker<{ account: string }>(
    QUEUE,
    withTurn(locker, {
      resource: (job) => `partner-api:${job.data.account}`,
      capacity: CAPACITY,
    }, async () => {
      // The call to the partner: at most CAPACITY of these at once.
      const inside = await redis.incr(INSIDE);
      await redis.eval(
        "if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or 0) then redis.call('SET', KEYS[1], ARGV[1]) end",
        1,
        MOST,
        inside,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      await redis.decr(INSIDE);
      return name;
    }),
    { connection: { url }, concurrency: 5 },
  )
);

const queue = new Queue(QUEUE, { connection: { url } });
const events = new QueueEvents(QUEUE, { connection: { url } });
await events.waitUntilReady();
const done = new Promise<void>((resolve) => {
  let completed = 0;
  events.on("completed", () => {
    if (++completed === JOBS) resolve();
  });
});
await queue.addBulk(
  Array.from({ length: JOBS }, () => ({
    name: "call",
    data: { account: "acme" },
  })),
);
await done;
const most = await redis.get(MOST);
console.log(`${JOBS} calls, at most ${most} at once (capacity ${CAPACITY})`);

for (const worker of workers) await worker.close();
await queue.obliterate({ force: true });
await redis.del(INSIDE, MOST);
redis.disconnect();
await events.close();
await queue.close();
