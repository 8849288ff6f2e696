/**
 * The NestJS adapter in real Nest applications (NestJS 11 and 12, each its
 * own process under its own import map) against a real redis-server.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { Follow, Locker, TurnEvent } from "../../mod.ts";
import {
  redisTest,
  type RedisTestContext,
  runExampleTwice,
} from "../support/helpers.ts";
import { configOf, Fixture, type Version, VERSIONS } from "./nestjs/run.ts";

/** Fixtures get the test's server; a default address would fail loudly. */
function envFor(url: string): Record<string, string> {
  const nowhere = "redis://127.0.0.1:1/0";
  return {
    FIXTURE_REDIS_URL: url,
    TURN_REDIS_URL: nowhere,
    REDIS_URL: nowhere,
  };
}

async function maxLevel(redis: Redis, witness: string): Promise<number> {
  const levels = await redis.lrange(`${witness}:levels`, 0, -1);
  assert.ok(levels.length > 0, `the ${witness} witness saw nobody`);
  return Math.max(...levels.map(Number));
}

/** Pops `count` items from `list`, each within a generous bound. */
async function popEach(
  redis: Redis,
  list: string,
  count: number,
): Promise<string[]> {
  const blocking = redis.duplicate();
  try {
    const items: string[] = [];
    while (items.length < count) {
      const popped = await blocking.blpop(list, 60);
      assert.ok(popped, `only ${items.length} of ${count} items on ${list}`);
      items.push(popped[1]);
    }
    return items;
  } finally {
    blocking.disconnect();
  }
}

/** Follows `resource` for at most a minute, once the subscription is on. */
async function following(locker: Locker, resource: string): Promise<Follow> {
  const follow = locker.follow([resource], {
    signal: AbortSignal.timeout(60_000),
  });
  await follow.ready;
  return follow;
}

/** The label of the next user that draws a number. */
async function assignedLabel(
  follow: AsyncIterator<TurnEvent>,
): Promise<string> {
  while (true) {
    const { value, done } = await follow.next();
    assert.ok(!done, "the follow ended");
    if (value.kind === "assigned") return value.label!;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Runs a deno subcommand under the import map of NestJS `version`. */
async function denoFor(
  version: Version,
  subcommand: "check" | "info",
  args: string[],
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [subcommand, "--quiet", "--config", configOf(version), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

function nestTest(
  name: string,
  body: (version: Version) => Promise<void>,
): void {
  for (const version of VERSIONS) {
    Deno.test(`NestJS ${version}: ${name}`, () => body(version));
  }
}

/** A test per NestJS major, each with its own redis-server. */
function nestRedisTest(
  name: string,
  body: (
    version: Version,
    context: RedisTestContext & { env: Record<string, string> },
  ) => Promise<void>,
): void {
  for (const version of VERSIONS) {
    redisTest(
      `NestJS ${version}: ${name}`,
      (context) =>
        body(version, { ...context, env: envFor(context.server.url) }),
    );
  }
}

const FIXTURES = [
  "behaviour",
  "bullmq",
  "config",
  "contend",
  "fence",
  "http",
  "shutdown",
]
  .map((name) => `test/adapters/nestjs/${name}.ts`);

nestTest("the adapter and fixtures type-check", async (version) => {
  await denoFor(version, "check", ["adapters/nestjs.ts", ...FIXTURES]);
});

nestTest(
  "each fixture app gets one copy of @nestjs/common, its own",
  async (version) => {
    for (const fixture of FIXTURES) {
      const { npmPackages } = JSON.parse(
        await denoFor(version, "info", ["--json", fixture]),
      );
      const copies = Object.keys(npmPackages).filter((id) =>
        id.startsWith("@nestjs/common@")
      );
      assert.deepEqual(
        copies.map((id) => id.split("@")[2].split(".")[0]),
        [version],
        `${fixture}: ${copies.join(", ")}`,
      );
    }
  },
);

nestRedisTest(
  "two processes with @Turn on one resource never overlap and are served in ticket order",
  async (version, { redis, env, locker }) => {
    await using a = new Fixture(version, "contend.ts", { args: ["a"], env });
    await using b = new Fixture(version, "contend.ts", { args: ["b"], env });
    await Promise.all([a.next("READY"), b.next("READY")]);
    const follow = await following(locker(), "ledger");
    // Calls alternate between the processes; each draws its number before
    // the next is started, so the ticket order is known.
    const drawn: string[] = [];
    for (let i = 0; i < 8; i++) {
      const id = `${i % 2 ? "b" : "a"}${i}`;
      await redis.rpush(`ledger:commands:${id[0]}`, `call ${id}`);
      drawn.push(await assignedLabel(follow));
    }
    assert.deepEqual(drawn, ["a0", "b1", "a2", "b3", "a4", "b5", "a6", "b7"]);
    await redis.rpush("ledger:release", ...drawn);
    await redis.rpush("ledger:commands:a", "end");
    await redis.rpush("ledger:commands:b", "end");
    assert.deepEqual(
      await Promise.all([a.next("RESULT"), b.next("RESULT")]),
      [4, 4],
    );
    assert.deepEqual(await redis.lrange("ledger:order", 0, -1), drawn);
    assert.equal(await maxLevel(redis, "ledger"), 1);
    assert.deepEqual([await a.exit(), await b.exit()], [0, 0]);
  },
);

nestRedisTest(
  "a controller method with @Get() and @Turn() answers HTTP requests one at a time",
  async (version, { redis, env, locker }) => {
    await using app = new Fixture(version, "http.ts", { env });
    const { port } = await app.next<{ port: number }>("READY");
    const follow = await following(locker(), "counter");
    const paths = ["above", "below", "above", "below"];
    const responses = paths.map(async (path) => {
      const response = await fetch(`http://127.0.0.1:${port}/${path}`);
      return { status: response.status, body: await response.json() };
    });
    // Every request has its number before any handler may finish.
    for (const _ of paths) await assignedLabel(follow);
    const impatient = await fetch(`http://127.0.0.1:${port}/impatient`);
    assert.equal(impatient.status, 409, "TimeoutError mapped by the filter");
    assert.match((await impatient.json()).message, /timed out after 200 ms/);
    await redis.rpush("counter:release", ...paths);
    const answers = await Promise.all(responses);
    assert.deepEqual(answers.map((answer) => answer.status), [
      200,
      200,
      200,
      200,
    ]);
    const numbers = answers.map((answer) => answer.body.number);
    assert.deepEqual(numbers.sort(), [1, 2, 3, 4]);
    assert.equal(await maxLevel(redis, "counter"), 1);
  },
);

for (const via of ["@Turn", "withTurn"] as const) {
  nestRedisTest(
    `a @nestjs/bullmq processor with ${via} runs jobs of one account one at a time across two workers`,
    async (version, { redis, env }) => {
      const work = via === "withTurn" ? ["work", "--with-turn"] : ["work"];
      const jobs = 12;
      await using one = new Fixture(version, "bullmq.ts", {
        args: work,
        env,
      });
      await using two = new Fixture(version, "bullmq.ts", {
        args: work,
        env,
      });
      await Promise.all([one.next("READY"), two.next("READY")]);
      await using producer = new Fixture(version, "bullmq.ts", {
        args: ["add", `${jobs}`],
        env,
      });
      await producer.next("RESULT");
      const done = await popEach(redis, "jobs:done", jobs);
      const ids = done.map((entry) => Number(entry.split(" ")[0]));
      assert.deepEqual(ids.sort((x, y) => x - y), range(1, jobs));
      const workers = new Set(done.map((entry) => entry.split(" ")[1]));
      assert.equal(workers.size, 2, "both workers took jobs");
      assert.equal(await maxLevel(redis, "account:a0"), 1);
      assert.equal(await maxLevel(redis, "account:a1"), 1);
      const signals = await redis.lrange("jobs:signal", 0, -1);
      assert.deepEqual(
        new Set(signals),
        new Set(["true"]),
        "process kept its length",
      );
      one.kill("SIGTERM");
      two.kill("SIGTERM");
      await Promise.all([one.exit(), two.exit()]);
      assert.equal(await redis.llen("jobs:done"), 0, "no job ran twice");
    },
  );
}

nestRedisTest(
  "app.close() with a waiter pending returns promptly, after the holder",
  async (version, { env }) => {
    await using app = new Fixture(version, "shutdown.ts", { env });
    const result = await app.next<{
      waiter: string;
      holder: string;
      order: string[];
      closeMs: number;
    }>("RESULT");
    assert.equal(result.waiter, "TurnShutdownError");
    assert.equal(result.holder, "returned");
    assert.deepEqual(result.order, ["holder returned", "locker closed"]);
    assert.ok(result.closeMs < 10_000, `close took ${result.closeMs} ms`);
    assert.equal(await app.exit(), 0, "nothing kept the process alive");
  },
);

nestRedisTest(
  "forRootAsync takes the Redis URL from ConfigService",
  async (version, { env }) => {
    await using app = new Fixture(version, "config.ts", { env });
    const result = await app.next<{
      number: number;
      label: string;
      users: { number: number; label: string }[];
    }>("RESULT");
    assert.equal(result.number, 1);
    assert.equal(result.label, "Ledger.post");
    assert.deepEqual(
      result.users.map(({ number, label }) => ({ number, label })),
      [{ number: 1, label: "Ledger.post" }],
    );
    assert.equal(await app.exit(), 0);
  },
);

interface Outcome {
  value?: unknown;
  name?: string;
  message?: string;
  method?: string | null;
  timeout?: boolean;
  same?: boolean;
}

nestRedisTest(
  "@Turn options, context and errors",
  async (version, { env }) => {
    await using app = new Fixture(version, "behaviour.ts", { env });
    const seen = await app.next<
      Record<string, Outcome> & {
        timeouts: Record<string, Outcome>;
        isolation: string[];
        capacity: unknown;
        identity: Record<string, unknown>;
      }
    >("RESULT");
    assert.match(
      seen.missingModule.message!,
      /resolve dependencies of the Ledger/,
    );
    assert.match(
      seen.missingModule.message!,
      /TurnModule \(needed by @Turn on Ledger\.sorted\)/,
    );
    assert.equal(seen.plainInstance.method, "Ledger.sorted");
    assert.match(seen.plainInstance.message!, /no TurnModule reached it/);
    assert.equal(
      seen.badOption.message,
      "@Turn on Bad.post: timeout must be a positive number of milliseconds: got -5",
    );
    assert.equal(
      seen.badCapacity.message,
      "@Turn on Bad.post: capacity must be a whole number of places, at least 1: got 0",
    );
    // @Turn("partner-api", { capacity: 2 }): two inside, the third after.
    assert.deepEqual(seen.capacity, {
      beforeLeave: [0, 1],
      numbers: [1, 2, 3],
    });
    assert.match(
      seen.outside.message!,
      /currentTurn\(\) must be called while/,
    );
    assert.deepEqual(seen.sorted.value, {
      resources: ["a", "b", "c"],
      label: "b+a+c+a",
    });
    assert.equal(seen.throwingResource.method, "Ledger.throwingResource");
    assert.match(
      seen.throwingResource.message!,
      /resource function of Ledger\.throwingResource threw: no account/,
    );
    assert.equal(seen.numericResource.method, "Ledger.numericResource");
    assert.match(
      seen.numericResource.message!,
      /Ledger\.numericResource must return .*: got 42/,
    );
    assert.equal(
      seen.crash.same,
      true,
      "the method's own error comes through",
    );
    assert.equal(
      seen.afterCrash.same,
      true,
      "the turn was handed on after a throw",
    );
    assert.equal(
      seen.leaseLost.name,
      "LeaseLostError",
      "a method that returned after its lease was lost rejects",
    );
    assert.deepEqual(seen.timeouts.skipped, { value: null });
    assert.equal(seen.timeouts.thrown.timeout, true);
    assert.deepEqual(seen.isolation, ["own", "own"]);
    assert.deepEqual(seen.sync, { value: 6 });
    assert.deepEqual(seen.identity, {
      name: "sync",
      length: 3,
      outer: true,
      inner: true,
    });
    assert.equal(await app.exit(), 0);
  },
);

Deno.test("examples/nestjs runs with one command, twice in a row on one Redis", async () => {
  await runExampleTwice("nestjs/main.ts", (output) => {
    assert.match(output, /alice's balance: 100 \(expected 100\)/);
  });
});
