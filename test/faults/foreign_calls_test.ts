// Calls that meet a queue mid-change: a stranger's release of a newest number
// whose turn 1.0 owner has not set its presence yet, and a late heartbeat
// under the same label. Each calls a script directly, against real Redis.
// (forged_release_test.ts has a stranger's calls against a settled queue.)
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { redisTest } from "../support/helpers.ts";
import {
  commonArgs,
  POLL,
  RELEASE,
  RENEW,
  type Script,
} from "../../src/redis/scripts.ts";
import {
  drawKey,
  newDrawToken,
  presenceKey,
  type ResourceKeys,
  resourceKeys,
  tokenKey,
} from "../../src/redis/keys.ts";
import { runScript } from "../../src/redis/eval.ts";

const keys = resourceKeys("printer");

/** Runs `script`; about user `n`, with draw token `token`. */
function call(
  redis: Redis,
  script: Script,
  args: (string | number)[],
  n?: number,
  token = newDrawToken(),
): Promise<unknown> {
  const user = n === undefined
    ? []
    : [presenceKey(keys, n), tokenKey(keys, n), drawKey(keys, token)];
  return runScript(redis, {
    script,
    keys: [keys.dispenser, keys.indicator, ...user],
    args: [...commonArgs(keys), ...args, ...(n === undefined ? [] : [token])],
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
    assert.equal(await t.redis.get(presenceKey(keys, 1)), "python");
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
    const n = lock.number;
    const presence = presenceKey(keys, n);
    // The token key holds the draw token, then the label.
    const token = (await t.redis.get(tokenKey(keys, n)))!.slice(0, 32);
    // The stalled client has a draw token of its own: it touches nothing.
    assert.equal(await call(t.redis, RENEW, [n, "app", 1_000], n), 0);
    assert.deepEqual(await call(t.redis, POLL, [n, "app", 1_000, 0], n), [-1]);
    assert.ok(await t.redis.pttl(presence) > 50_000, "a stranger cut it short");
    // Even the owner's own late heartbeat only lengthens a TTL.
    assert.equal(await call(t.redis, RENEW, [n, "app", 1_000], n, token), 1);
    for (const key of [presence, tokenKey(keys, n)]) {
      assert.ok(await t.redis.pttl(key) > 50_000, `renew cut ${key} short`);
    }
    assert.equal(await t.redis.get(tokenKey(keys, n)), `${token}app`);
    assert.equal(lock.signal.aborted, false);
    await lock.release();
  },
);
