/**
 * The protocol's safety rules (see the comments in src/redis/scripts.ts), each
 * seen through the Locker as users meet them: a holder whose lease was lost
 * claims nothing, the newest number gets its grace, a refresh never shortens
 * a presence, and poll and renew act only for the user whose place it is.
 * forged_release_test.ts and faults/foreign_calls_test.ts check the same
 * rules by calling the scripts directly.
 */

import assert from "node:assert/strict";
import { LeaseLostError } from "../../mod.ts";
import {
  allKeys,
  followUntil,
  leaseLost,
  redisTest,
  spawnHolder,
  untilCleared,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";
import { presenceKey, resourceKeys } from "../../src/redis/keys.ts";

const keys = resourceKeys("r");
const LABEL = "app";

/** Waits until user `n`'s presence has expired. */
function untilExpired(
  redis: { exists(key: string): Promise<number> },
  n: number,
) {
  return waitFor(
    async () => await redis.exists(presenceKey(keys, n)) === 0,
    `presence ${n} expired`,
    15_000,
  );
}

redisTest(
  "a holder that releases after its lease was lost claims nothing from the user that drew its number again",
  async (t) => {
    await using frozen = spawnHolder(t.server.url, "r", 1000, LABEL);
    assert.equal(await within(frozen.held, 30_000, "frozen holder"), 1);
    frozen.signal("SIGSTOP");
    await untilExpired(t.redis, 1);
    // Its queue is reset and numbering starts again: the same number, the
    // same label, another user.
    const locker = t.locker();
    await locker.reset(["r"]);
    const twin = await locker.lock("r", { label: LABEL, expire: 600 });
    assert.equal(twin.number, 1);
    const { events } = await followUntil(
      locker,
      ["r"],
      (event) => event.kind === "granted",
    );
    frozen.signal("SIGCONT");
    // It finds its lease lost at once and releases: claiming nothing.
    await within(frozen.released, 10_000, "the late release");
    // A few of the twin's heartbeats (every 200 ms) must still find it holding.
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(twin.signal.aborted, false, String(twin.signal.reason));
    assert.equal(await t.redis.get(presenceKey(keys, 1)), LABEL);
    assert.equal(await t.redis.get(keys.indicator), "1");
    await twin.release();
    // Only the twin's own release said anything.
    assert.deepEqual(
      (await within(events, 5000, "events")).map((e) => e.message),
      ['r: 1 completed by "app"', "r: 2 granted"],
    );
    await frozen.kill();
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest(
  "tryLock gives a turn 1.0 user caught between its draw and its presence the grace period",
  async (t) => {
    // turn 1.0 draws (INCR) and sets its presence in two round trips.
    const python = await t.redis.multi()
      .msetnx(keys.dispenser, 0, keys.indicator, 1)
      .incr(keys.dispenser)
      .exec();
    assert.equal(python?.[1][1], 1);
    const locker = t.locker();
    await locker.status(); // connected: tryLock's first look comes at once
    const trying = locker.tryLock("r");
    // The presence comes after that first look, within the grace (100 ms).
    await new Promise((resolve) => setTimeout(resolve, 30));
    await t.redis.set(presenceKey(keys, 1), "python", "EX", 60);
    assert.equal(await within(trying, 5000, "tryLock"), null);
    assert.equal(await t.redis.get(keys.indicator), "1");
    assert.equal(await t.redis.get(keys.dispenser), "1");
    // A user that drew and died before setting its presence is skipped once
    // the grace is over.
    await t.redis.del(presenceKey(keys, 1));
    const lock = await within(locker.tryLock("r"), 5000, "past the ghost");
    assert.ok(lock, "the ghost was not skipped");
    await lock.release();
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest(
  "a frozen waiter's late heartbeat never shortens the presence of the user that drew its number again",
  async (t) => {
    const locker = t.locker();
    const first = await locker.lock("r", { label: "first" });
    await using frozen = spawnHolder(t.server.url, "r", 1000, LABEL);
    await untilQueued(locker, "r", 2);
    frozen.signal("SIGSTOP");
    await untilExpired(t.redis, 2);
    // It is skipped, the queue empties, and numbering starts again.
    await first.release();
    await waitFor(
      async () => await t.redis.exists(keys.dispenser) === 0,
      "the queue emptied",
    );
    const holder = await locker.lock("r", { label: "holder" });
    assert.equal(holder.number, 1);
    const twin = locker.lock("r", { label: LABEL, expire: 60_000 });
    twin.catch(() => {});
    await untilQueued(locker, "r", 2);
    assert.equal(await t.redis.get(presenceKey(keys, 2)), LABEL);
    // Its heartbeat, overdue, asks with expire 1000 for number 2.
    frozen.signal("SIGCONT");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const ttl = await t.redis.pttl(presenceKey(keys, 2));
    assert.ok(ttl > 50_000, `the twin's presence has ${ttl} ms left`);
    await frozen.kill();
    await holder.release();
    await (await within(twin, 10_000, "the twin's turn")).release();
    await untilCleared(locker, ["r"], () => allKeys(t.redis));
  },
);

redisTest(
  "a waiter whose place holds a stranger's presence draws again and is never granted as that number",
  async (t) => {
    const locker = t.locker();
    const holder = await locker.lock("r", { label: "holder" });
    const waiting = locker.lock("r", { label: LABEL });
    await untilQueued(locker, "r", 2);
    // Another user's presence in its place, as after a restart; that user
    // dies soon after.
    await t.redis.set(presenceKey(keys, 2), "stranger", "PX", 3000);
    await holder.release();
    // The turn goes to the stranger's number; the waiter draws again (3).
    await waitFor(
      async () => (await t.redis.exists(presenceKey(keys, 3))) === 1,
      "the waiter drew again",
    );
    assert.equal(await t.redis.get(keys.indicator), "2");
    assert.equal(await t.redis.get(presenceKey(keys, 2)), "stranger");
    const lock = await within(waiting, 10_000, "the waiter's turn");
    assert.equal(lock.number, 3);
    await lock.release();
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest(
  "a holder whose place holds a stranger's presence loses its lease and never renews the stranger",
  async (t) => {
    const locker = t.locker();
    const lock = await locker.lock("r", { label: LABEL, expire: 300 });
    await t.redis.set(presenceKey(keys, 1), "stranger", "PX", 60_000);
    const reason = await leaseLost(lock);
    assert.ok(reason instanceof LeaseLostError, String(reason));
    // Its heartbeats stop; the stranger's presence is as it was set.
    const ttl = await t.redis.pttl(presenceKey(keys, 1));
    assert.equal(await t.redis.get(presenceKey(keys, 1)), "stranger");
    assert.ok(ttl > 55_000, `${ttl} ms left`);
    await lock.release();
    assert.equal(await t.redis.get(presenceKey(keys, 1)), "stranger");
    await t.redis.del(presenceKey(keys, 1));
    await untilCleared(locker, ["r"], () => allKeys(t.redis));
  },
);
