// A client that did not draw a number must not be able to release, renew or
// bump someone else's turn out of order: the scripts check number and label.
// Each case calls a script directly, as an intruder would, against real Redis.
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { redisTest, untilQueued } from "../_helpers.ts";
import {
  BUMP,
  commonArgs,
  POLL,
  presenceKey,
  RELEASE,
  RENEW,
  type ResourceKeys,
  resourceKeys,
  type Script,
} from "../../src/protocol.ts";
import { runScript } from "../../src/scripts.ts";

const keys = resourceKeys("printer");

function call(
  redis: Redis,
  script: Script,
  args: (string | number)[],
  n?: number,
): Promise<unknown> {
  const keyList = [keys.dispenser, keys.indicator];
  if (n !== undefined) keyList.push(presenceKey(keys, n));
  return runScript(redis, {
    script,
    keys: keyList,
    args: [...commonArgs(keys), ...args],
  });
}

/** Indicator, dispenser and every presence (number => label) of the queue. */
async function snapshot(redis: Redis, k: ResourceKeys) {
  const [indicator, dispenser] = await redis.mget(k.indicator, k.dispenser);
  const presences: Record<string, string | null> = {};
  for (const key of (await redis.keys(`${k.presencePrefix}*`)).sort()) {
    presences[key] = await redis.get(key);
  }
  return { indicator, dispenser, presences };
}

redisTest(
  "an intruder's release, renew and bump leave holder and waiters as they were",
  async (t) => {
    const locker = t.locker();
    const holder = await locker.lock("printer", {
      label: "holder",
      expire: 60_000,
    });
    const waiting = locker.lock("printer", { label: "waiter" });
    await untilQueued(locker, "printer", 2);
    const before = await snapshot(t.redis, keys);
    assert.equal(before.indicator, "1");
    assert.equal(before.dispenser, "2");

    const attempts: [string, Script, (string | number)[], number?][] = [
      [
        "release the holder's number",
        RELEASE,
        [1, "intruder", "completed", 0],
        1,
      ],
      ["crash the holder's number", RELEASE, [1, "intruder", "crashed", 0], 1],
      ["leave as the waiter", RELEASE, [2, "intruder", "left", 0], 2],
      [
        "release a number never drawn",
        RELEASE,
        [7, "holder", "completed", 0],
        7,
      ],
      ["release the next number", RELEASE, [2, "holder", "completed", 0], 2],
      ["bump past a live holder", BUMP, [1, 2]],
      ["bump naming the waiter as skippable", BUMP, [2, 0]],
    ];
    for (const [what, script, args, n] of attempts) {
      await call(t.redis, script, args, n);
      assert.deepEqual(await snapshot(t.redis, keys), before, what);
    }
    // Renewing someone else's turn neither succeeds nor extends it.
    assert.equal(
      await call(t.redis, RENEW, [1, "intruder", 600_000], 1),
      0,
    );
    assert.equal(await call(t.redis, RENEW, [2, "waiter", 600_000], 2), 0);
    assert.ok(await t.redis.pttl(presenceKey(keys, 1)) <= 60_000);

    // The queue still works in order: the waiter is next.
    await holder.release();
    const lock = await waiting;
    assert.equal(lock.number, 2);
    await lock.release();
  },
);

redisTest(
  "an intruder cannot hand on a newest number whose owner has not set its presence yet",
  async (t) => {
    // turn 1.0 draws and sets its presence in two steps: between them its
    // number is the newest and has no presence. Only the grace period
    // (a bump naming it in `skip`) may pass it, never a stranger's release.
    await t.redis.multi()
      .msetnx(keys.dispenser, 0, keys.indicator, 1)
      .incr(keys.dispenser)
      .exec();
    const before = await snapshot(t.redis, keys);
    for (const outcome of ["completed", "crashed"]) {
      await call(t.redis, RELEASE, [1, "intruder", outcome, 0], 1);
      assert.deepEqual(await snapshot(t.redis, keys), before, outcome);
    }
    // The turn 1.0 user sets its presence and still has its turn.
    await t.redis.set(presenceKey(keys, 1), "python", "EX", 60);
    assert.equal(await t.redis.get(keys.indicator), "1");
    assert.equal(await call(t.redis, RENEW, [1, "python", 60_000], 1), 1);
    await t.redis.del(keys.dispenser, keys.indicator, presenceKey(keys, 1));
  },
);

redisTest(
  "a late heartbeat under the same label never cuts a presence short",
  async (t) => {
    // A stalled client's renew or poll, sent before its lease ran out, can
    // arrive after the queue restarted and the same number was drawn again
    // under the same label (the default label is per process).
    const lock = await t.locker().lock("printer", {
      label: "app",
      expire: 60_000,
    });
    const presence = presenceKey(keys, lock.number);
    assert.equal(
      await call(t.redis, RENEW, [lock.number, "app", 1_000], lock.number),
      1,
    );
    assert.ok(await t.redis.pttl(presence) > 50_000, "renew cut it short");
    await call(t.redis, POLL, [lock.number, "app", 1_000, 0], lock.number);
    assert.ok(await t.redis.pttl(presence) > 50_000, "poll cut it short");
    await lock.release();
  },
);
