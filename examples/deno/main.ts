// `deno run -A examples/deno/main.ts`: five print jobs take turns on one
// printer. Each job has its own Locker, so its own Redis connections, exactly
// as five separate programs on five hosts would; they are in one script only
// to keep the example short.
//
// Uses the Redis a Locker takes from the environment (TURN_URL,
// TURN_REDIS_URL, REDIS_URL), else a throwaway redis-server on a free port.
// Its queues leave no keys behind.
import { Locker } from "@turn/turn";
import { exampleRedis } from "../example_redis.ts";

const JOBS = ["report", "invoice", "letter", "poster", "label"];

await using redis = await exampleRedis();
const { url } = redis;

// How many jobs are printing right now, and the most there ever were.
let printing = 0;
let most = 0;

async function print(job: string): Promise<void> {
  await using locker = new Locker({ url });
  await locker.withLock("printer", async (lock) => {
    most = Math.max(most, ++printing);
    const [queue] = await locker.status(["printer"]);
    const waiting = queue.users.slice(1).map((user) => user.label);
    console.log(
      `number ${lock.number} (${job}) is printing; waiting: ${
        waiting.join(", ") || "nobody"
      }`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    printing--;
  }, { label: job, timeout: 30_000 });
}

await Promise.all(JOBS.map(print));
console.log(`${JOBS.length} jobs printed, at most ${most} at a time`);
