// `deno run -A examples/bullmq/main.ts`: BullMQ jobs that take turns per
// account. Two worker processes (concurrency 4 each) charge 30 invoices to 3
// accounts with a read-modify-write of the balance, which loses money when two
// charges of one account overlap. `withTurn` makes each account's charges take
// turns, across both processes, while different accounts run in parallel.
//
// Uses the Redis a Locker takes from the environment (TURN_URL,
// TURN_REDIS_URL, REDIS_URL), else a throwaway redis-server on a free port.
// It removes its queue and balances when done, and touches no other key.
import { Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import { Locker } from "@turn/turn";
import { withTurn } from "@turn/turn/bullmq";
import { exampleRedis } from "../example_redis.ts";

const QUEUE = "turn-example-invoices";
/** The example's own keys: one balance per account. */
const balanceKey = (account: string) => `turn-example:balance:${account}`;
const ACCOUNTS = ["alice", "bob", "carol"];
const INVOICES = 30;
const AMOUNT = 5;

interface Invoice {
  readonly account: string;
  readonly amount: number;
}

// With --no-turn every job says it needs no turn: watch the balances go wrong.
const NO_TURN = Deno.args.includes("--no-turn");

if (Deno.args[0] === "worker") {
  runWorker(Deno.args[1], Deno.args[2]);
} else {
  await main();
}

/** One worker process: charges invoices, one at a time per account. */
function runWorker(url: string, name: string): void {
  const redis = new Redis(url);
  const locker = new Locker({ url });
  const shutdown = new AbortController();
  const worker = new Worker<Invoice>(
    QUEUE,
    withTurn(locker, {
      resource: (job) => NO_TURN ? null : `account:${job.data.account}`,
      shutdown: shutdown.signal,
    }, async (job) => {
      // Read, think, write: safe only while the account's turn is held.
      const key = balanceKey(job.data.account);
      const balance = Number(await redis.get(key));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await redis.set(key, balance + job.data.amount);
      return name;
    }),
    { connection: { url }, concurrency: 4 },
  );
  // Jobs still waiting for a turn go back to the queue instead of holding up
  // worker.close().
  worker.on("closing", () => shutdown.abort());
  Deno.addSignalListener("SIGTERM", async () => {
    await worker.close();
    await locker.close();
    redis.disconnect();
    Deno.exit(0);
  });
}

async function main(): Promise<void> {
  await using example = await exampleRedis();
  const { url } = example;

  const workers = ["worker-1", "worker-2"].map((name) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        import.meta.filename!,
        "worker",
        url,
        name,
        ...(NO_TURN ? ["--no-turn"] : []),
      ],
    }).spawn()
  );
  const redis = new Redis(url);
  const balances = ACCOUNTS.map(balanceKey);
  await redis.del(...balances);
  const queue = new Queue<Invoice>(QUEUE, { connection: { url } });
  const events = new QueueEvents(QUEUE, { connection: { url } });
  await events.waitUntilReady();

  const jobs = await queue.addBulk(
    Array.from({ length: INVOICES }, (_, i) => ({
      name: "charge",
      data: { account: ACCOUNTS[i % ACCOUNTS.length], amount: AMOUNT },
    })),
  );
  console.log(`${INVOICES} invoices of ${AMOUNT} for ${ACCOUNTS.join(", ")}`);
  const servedBy = await new Promise<string[]>((resolve) => {
    const names: string[] = [];
    events.on("completed", ({ returnvalue }) => {
      names.push(String(returnvalue));
      if (names.length === INVOICES) resolve(names);
    });
  });
  const perWorker = Object.groupBy(servedBy, (name) => name);
  for (const [name, served] of Object.entries(perWorker)) {
    console.log(`${name} charged ${served?.length} invoices`);
  }

  const expected = (INVOICES / ACCOUNTS.length) * AMOUNT;
  for (const account of ACCOUNTS) {
    const balance = await redis.get(balanceKey(account));
    console.log(`${account}'s balance: ${balance} (expected ${expected})`);
  }
  const { logs } = await queue.getJobLogs(jobs.at(-1)!.id!);
  if (logs.length) {
    console.log(`the last invoice's log:\n  ${logs.join("\n  ")}`);
  }

  for (const worker of workers) worker.kill("SIGTERM");
  await Promise.all(workers.map((worker) => worker.status));
  await queue.obliterate({ force: true });
  await redis.del(...balances);
  redis.disconnect();
  await events.close();
  await queue.close();
}
