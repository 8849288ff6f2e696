// Two users with one label: a waiter frozen (SIGSTOP) past its `expire` is
// skipped, the queue empties and numbering starts again, and a user with the
// frozen one's label draws its old number. When the frozen waiter resumes, it
// must find that number is no longer its own and draw again, not carry on as
// the other user (issue 12: both were granted at once).
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Locker } from "../../mod.ts";
import {
  allKeys,
  redisTest,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";
import { presenceKey, resourceKeys } from "../../src/redis/keys.ts";
import { startRedis } from "../../support/redis_server.ts";
import { enterWitness, leaveWitness, mostInside, User } from "./_users.ts";

/** The old waiter's heartbeat period in the lost-queue test. */
const HEARTBEAT_MS = 5_000;

/** Resolves just after the presence at `key` is renewed (its TTL jumps up). */
async function afterRenewal(redis: Redis, key: string): Promise<void> {
  let last = await redis.pttl(key);
  await waitFor(
    async () => {
      const ttl = await redis.pttl(key);
      const renewed = ttl > last;
      last = ttl;
      return renewed;
    },
    `a renewal of ${key}`,
    HEARTBEAT_MS * 3,
  );
}

const RESOURCE = "ledger";
const LABEL = "lock tool";
const EXPIRE = 1_000;

Deno.test({
  name:
    "a frozen waiter whose number was skipped and drawn again under its label draws again",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using server = await startRedis();
    await using witnessServer = await startRedis();
    const redis = new Redis(server.url);
    const witness = new Redis(witnessServer.url);
    const locker = new Locker({ url: server.url });
    const keys = resourceKeys(RESOURCE);
    const frozen = new User({
      url: server.url,
      witnessUrl: witnessServer.url,
      resource: RESOURCE,
      label: LABEL,
      expire: EXPIRE,
      holdMs: 200,
    });
    try {
      const first = await locker.lock(RESOURCE, { label: "first" });
      await untilQueued(locker, RESOURCE, 2);
      frozen.signal("SIGSTOP");
      await waitFor(
        async () => await redis.exists(presenceKey(keys, 2)) === 0,
        "the frozen waiter's presence expired",
        30_000,
      );
      // It is skipped, and the queue empties: numbering starts again at 1.
      await first.release();
      await waitFor(
        async () => await redis.exists(keys.dispenser) === 0,
        "the queue emptied",
        30_000,
      );
      const holder = await locker.lock(RESOURCE, { label: "holder" });
      assert.equal(holder.number, 1);
      const twin = locker.lock(RESOURCE, { label: LABEL, timeout: 30_000 });
      // A failure below must not surface as an unhandled rejection instead.
      twin.catch(() => {});
      await untilQueued(locker, RESOURCE, 2);
      assert.equal(await redis.get(presenceKey(keys, 2)), LABEL);

      frozen.signal("SIGCONT");
      // Its next check finds number 2 taken by another draw: it draws 3.
      await waitFor(
        async () => await redis.get(keys.dispenser) === "3",
        "the resumed waiter drew again",
        30_000,
      );
      await untilQueued(locker, RESOURCE, 3);
      await holder.release();
      const lock = await within(twin, 30_000, "the twin's turn");
      assert.equal(lock.number, 2);
      assert.equal(await enterWitness(witness, RESOURCE, LABEL), 1);
      // The twin holds while the resumed waiter waits behind it as 3.
      const [status] = await locker.status([RESOURCE]);
      assert.deepEqual(status.users.map((u) => [u.number, u.label]), [
        [2, LABEL],
        [3, LABEL],
      ]);
      await leaveWitness(witness, RESOURCE, LABEL);
      await lock.release();
      const granted = await frozen.until("granted");
      assert.equal(granted.number, 3);
      assert.equal(granted.inside, 1);
      await frozen.exit();
      assert.equal(await mostInside(witness, RESOURCE), 1, "witness");
      await waitFor(
        async () => (await allKeys(redis)).length === 0,
        "no keys left",
        30_000,
      );
    } finally {
      frozen.signal("SIGCONT");
      await frozen.kill();
      await locker.close();
      redis.disconnect();
      witness.disconnect();
    }
  },
});

redisTest(
  "a waiter whose queue was lost and whose number was drawn again under its label draws again",
  async (t) => {
    // The chaos checker's seed 2 (FINDINGS.md L1): Redis lost every key
    // while a waiter waited; in the new queue, users with its label drew
    // its number. Nothing tells the waiter until the turn reaches that number.
    const locker = t.locker();
    const quiet = { label: LABEL, expire: 60_000, patience: 600_000 };
    const holder = await locker.lock(RESOURCE, { ...quiet, label: "holder" });
    // A waiter is woken only by its own grant, so nothing tells it that its
    // number went to someone else: its heartbeat (every expire / 3) finds
    // out. (When Redis loses its keys by restarting, the reconnect makes
    // every waiter ask at once; a FLUSHALL drops no connection.)
    const waiter = t.locker().lock(RESOURCE, {
      ...quiet,
      expire: HEARTBEAT_MS * 3,
      timeout: 120_000,
    });
    waiter.catch(() => {});
    await untilQueued(locker, RESOURCE, 2);
    const keys = resourceKeys(RESOURCE);
    // Were the old waiter's heartbeat to look before the twin draws, it would
    // draw number 2 itself: the loss happens just after one of its beats.
    await afterRenewal(t.redis, presenceKey(keys, 2));
    await t.redis.flushall();
    const first = await locker.lock(RESOURCE, quiet);
    assert.equal(first.number, 1);
    const twin = locker.lock(RESOURCE, { ...quiet, timeout: 60_000 });
    twin.catch(() => {});
    await untilQueued(locker, RESOURCE, 2);
    assert.equal(await t.redis.get(presenceKey(keys, 2)), LABEL);

    await first.release();
    const lock = await within(twin, 10_000, "the twin's turn");
    assert.equal(lock.number, 2);
    // At its next beat the old waiter found number 2 is not its own, and drew 3.
    await waitFor(
      async () => await t.redis.get(keys.dispenser) === "3",
      "the old waiter drew again",
      HEARTBEAT_MS * 3,
    );
    const [status] = await locker.status([RESOURCE]);
    assert.deepEqual(status.users.map((u) => u.number), [2, 3]);
    assert.equal(lock.signal.aborted, false);
    await lock.release();
    assert.equal((await within(waiter, 10_000, "its turn")).number, 3);
    await (await waiter).release();
    // The holder of the lost queue claims nothing of the new one.
    await holder.release();
    await waitFor(async () => (await allKeys(t.redis)).length === 0, "no keys");
  },
);
