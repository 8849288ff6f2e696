import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { startRedis } from "../support/redis_server.ts";
import { Locker } from "../mod.ts";
import { resourceKeys } from "../src/redis/keys.ts";
import {
  BACKENDS,
  fixture,
  lockerTest,
  untilQueued,
  within,
} from "./support/helpers.ts";
import { cliDomain } from "./support/cli.ts";

/** Asserts that `fences` strictly increase, in the order given. */
function assertIncreasing(fences: readonly bigint[]): void {
  for (let k = 1; k < fences.length; k++) {
    assert.ok(
      fences[k] > fences[k - 1],
      `fence ${fences[k]} (grant ${k}) is not above ${fences[k - 1]}`,
    );
  }
}

lockerTest(
  "fencing tokens grow with every grant: at once, after a wait, after idle periods and resets",
  async (t) => {
    const [a, b] = [t.locker(), t.locker()];
    const fences: bigint[] = [];
    const first = await a.lock("fenced");
    fences.push(first.fence);
    const waiting = b.lock("fenced");
    await untilQueued(a, "fenced", 2);
    await first.release();
    const second = await within(waiting, 10_000, "the waiter's grant");
    fences.push(second.fence);
    await second.release();
    // The queue is idle now: its counters are gone, its fence stays.
    assert.deepEqual(await t.leftovers(), []);
    const tried = await a.tryLock("fenced");
    assert.ok(tried);
    fences.push(tried.fence);
    await tried.release();
    await a.reset(["fenced"]);
    await a.withLock("fenced", (lock) => void fences.push(lock.fence));
    // Another resource's tokens do not disturb these.
    await b.withLock("other", () => {});
    await b.withLock("fenced", (lock) => void fences.push(lock.fence));
    assert.ok(fences[0] > 0n);
    assertIncreasing(fences);
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "fencing tokens follow the order of grants across processes",
  async (t) => {
    await using witnessServer = await startRedis();
    const witness = new Redis(witnessServer.port, "127.0.0.1");
    try {
      const runs = Array.from(
        { length: 4 },
        () =>
          new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              fixture("fence_holder.ts"),
              t.url,
              witnessServer.url,
              "contended",
              "10",
            ],
            stdout: "piped",
            stderr: "piped",
          }).output(),
      );
      const outputs = await within(Promise.all(runs), 90_000, "the holders");
      for (const { code, stderr } of outputs) {
        assert.equal(code, 0, new TextDecoder().decode(stderr));
      }
      assert.deepEqual(await witness.lrange("witness:overlap", 0, -1), []);
      const fences = (await witness.lrange("witness:fences", 0, -1)).map(
        BigInt,
      );
      assert.equal(fences.length, 40);
      assertIncreasing(fences);
      assert.deepEqual(await t.leftovers(), []);
    } finally {
      witness.disconnect();
    }
  },
);

Deno.test("fencing tokens keep growing across a restart of Redis with AOF", async () => {
  const aofDir = await Deno.makeTempDir({ prefix: "turn-aof-" });
  try {
    const before = await fencesOn(await startRedis({ aofDir }), 3);
    const server = await startRedis({ aofDir });
    // The key itself came back, not only the clock's floor under it.
    const redis = new Redis(server.port, "127.0.0.1");
    const kept = await redis.get(resourceKeys("durable").fence);
    redis.disconnect();
    assert.equal(kept, String(before.at(-1)));
    const after = await fencesOn(server, 3);
    assertIncreasing([...before, ...after]);
  } finally {
    await Deno.remove(aofDir, { recursive: true });
  }
});

/** Takes `count` turns on a server, then stops it; returns their tokens. */
async function fencesOn(
  server: Awaited<ReturnType<typeof startRedis>>,
  count: number,
): Promise<bigint[]> {
  const fences: bigint[] = [];
  try {
    const locker = new Locker({ url: server.url });
    try {
      for (let k = 0; k < count; k++) {
        await locker.withLock(
          "durable",
          (lock) => void fences.push(lock.fence),
        );
      }
    } finally {
      await locker.close();
    }
  } finally {
    await server.stop();
  }
  return fences;
}

for (const backend of BACKENDS) {
  Deno.test(`turn run (${backend}): the command finds its fencing token in TURN_FENCE`, async () => {
    await using where = await cliDomain(backend);
    const locker = new Locker({ url: where.url });
    let before = 0n;
    try {
      await locker.withLock("scanner", (lock) => void (before = lock.fence));
    } finally {
      await locker.close();
    }
    const show = ["run", "-q", "scanner", "--", "sh", "-c", "echo $TURN_FENCE"];
    const first = await where.run(show);
    const second = await where.run(show);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    assertIncreasing([before, BigInt(first.stdout), BigInt(second.stdout)]);
  });
}

Deno.test("fencing tokens keep growing across a restart of Redis without persistence, by the clock's floor", async () => {
  // Nothing survives this restart: only the server's clock keeps tokens up.
  const before = await fencesOn(await startRedis(), 2);
  const after = await fencesOn(await startRedis(), 2);
  assertIncreasing([...before, ...after]);
});

lockerTest(
  "reset with forget removes the fence of an idle resource, and only then",
  async (t) => {
    const locker = t.locker();
    await locker.withLock("forgotten", () => {});
    const held = await locker.lock("busy");
    await locker.withLock("kept", () => {});
    // Bad input changes nothing.
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => locker.reset(["forgotten"], { forget: "yes" as any }),
      /forget must be true or false: got "yes"/,
    );
    const results = await locker.reset(["forgotten", "busy"], {
      forget: true,
    });
    assert.deepEqual(results.map((r) => r.outcome), ["missing", "in-use"]);
    await held.release();
    const mine = async () =>
      (await t.fences()).filter((r) =>
        ["forgotten", "busy", "kept"].includes(r)
      );
    assert.deepEqual(await mine(), ["busy", "kept"]);
    await locker.reset(["busy", "kept"], { forget: true });
    assert.deepEqual(await mine(), []);
    assert.deepEqual(await t.leftovers(), []);
  },
);

Deno.test("turn reset --forget needs names, and removes the fence of an idle resource", async () => {
  await using where = await cliDomain("redis");
  const usage = await where.run(["reset", "--forget"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /reset --forget needs the names/);
  const locker = new Locker({ url: where.url });
  try {
    let before = 0n;
    await locker.withLock("old", (lock) => void (before = lock.fence));
    assert.deepEqual(await where.run(["reset", "--forget", "old"]), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    const redis = new Redis(where.url);
    try {
      assert.equal(await redis.exists(resourceKeys("old").fence), 0);
    } finally {
      redis.disconnect();
    }
    assert.ok(before > 0n);
  } finally {
    await locker.close();
  }
});
