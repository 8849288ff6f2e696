// Calls that meet a queue mid-change: a stranger's release of a newest number
// whose turn 1.0 owner has not set its presence yet, and a late heartbeat
// under the same label. Each calls a script directly, against real Redis.
// (forged_release_test.ts has a stranger's calls against a settled queue.)
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { redisTest } from "../_helpers.ts";
import {
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
