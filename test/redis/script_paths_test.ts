/**
 * The scripts' own paths, called directly: what an uncontended cycle and a
 * hand-over write, publish and leave behind, and the fencing tokens they
 * issue when the fence key was read with the counters, when a settle came
 * first, or when the key was lost.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import {
  drawKey,
  grantProof,
  newDrawToken,
  presenceKey,
  resourceKeys,
  tokenKey,
  wakeChannel,
} from "../../src/redis/keys.ts";
import {
  draw,
  type Place,
  poll,
  type RedisDrawn,
  release,
  type Step,
  type Target,
  tryDraw,
} from "../../src/redis/steps.ts";
import { runScript } from "../../src/redis/eval.ts";
import { allKeys, redisTest, waitFor } from "../support/helpers.ts";

const KEYS = resourceKeys("r");
const TARGET: Target = { keys: KEYS, variant: "single" };
const EXPIRE = 60_000;

async function run<R>(redis: Redis, step: Step<R>): Promise<R> {
  return step.read(await runScript(redis, step.call));
}

async function drawAs(
  redis: Redis,
  label: string,
  token = newDrawToken(),
  skip = 0,
): Promise<RedisDrawn & { place: Place }> {
  const drawn = await run(
    redis,
    draw(TARGET, { label, expire: EXPIRE, token, skip }),
  );
  return { ...drawn, place: { n: drawn.n, label, token } };
}

/** Every message on the resource's channels, as `channel payload`. */
async function listen(
  redis: Redis,
): Promise<{ messages: string[]; [Symbol.asyncDispose](): Promise<void> }> {
  const subscriber = redis.duplicate();
  const messages: string[] = [];
  subscriber.on("pmessage", (_pattern, channel, payload) => {
    messages.push(`${channel.slice(KEYS.base.length)} ${payload}`);
  });
  await subscriber.psubscribe(`${KEYS.base}*`);
  return {
    messages,
    async [Symbol.asyncDispose]() {
      await subscriber.quit();
    },
  };
}

/** Waits until `messages` holds `count` messages, then takes them. */
async function take(messages: string[], count: number): Promise<string[]> {
  await waitFor(
    () => Promise.resolve(messages.length >= count),
    `${count} messages`,
    10_000,
  );
  return messages.splice(0, messages.length);
}

redisTest(
  "uncontended cycles publish turn 1.0's messages, leave only the fence key, and issue growing tokens",
  async (t) => {
    await using heard = await listen(t.redis);
    let last = 0n;
    for (let cycle = 0; cycle < 3; cycle++) {
      const a = await drawAs(t.redis, "a");
      assert.equal(a.n, 1);
      assert.ok(a.granted);
      assert.ok(a.fence > last, `fence ${a.fence} is not above ${last}`);
      last = a.fence;
      assert.equal(await t.redis.get(KEYS.fence), String(a.fence));
      assert.equal(await t.redis.get(KEYS.indicator), "1");
      assert.equal(await t.redis.get(KEYS.dispenser), "1");
      assert.equal(await t.redis.get(presenceKey(KEYS, 1)), "a");
      // Granted at once, the draw keeps no draw key: its token key names it.
      assert.equal(await t.redis.exists(drawKey(KEYS, a.place.token)), 0);
      assert.equal(await t.redis.get(tokenKey(KEYS, 1)), `${a.place.token}a`);
      const left = await run(t.redis, release(TARGET, a.place, "completed"));
      assert.deepEqual(left, { holder: true, ahead: 0, stuck: 0 });
      assert.deepEqual(await allKeys(t.redis), []);
      assert.equal(await t.redis.get(KEYS.fence), String(a.fence));
      assert.deepEqual(await take(heard.messages, 4), [
        'external r: 1 assigned to "a"',
        `external r: 1 started (fence ${a.fence})`,
        'external r: 1 completed by "a"',
        "external r: 2 granted",
      ]);
    }
  },
);

redisTest(
  "a draw sent again gets the number it drew, granted at once or waiting, and a stranger with the same label gets its own",
  async (t) => {
    await using heard = await listen(t.redis);
    const a = await drawAs(t.redis, "a");
    const again = await drawAs(t.redis, "a", a.place.token);
    assert.deepEqual([again.n, again.granted], [1, true]);
    assert.ok(
      again.fence > a.fence,
      "a grant reported again issues a new token",
    );
    const b = await drawAs(t.redis, "b");
    const bAgain = await drawAs(t.redis, "b", b.place.token);
    assert.deepEqual(
      [bAgain.n, bAgain.granted, bAgain.indicator],
      [2, false, 1],
    );
    // The same label with another token is another user.
    const stranger = await drawAs(t.redis, "a");
    assert.deepEqual([stranger.n, stranger.granted], [3, false]);
    assert.equal(await t.redis.get(KEYS.dispenser), "3", "a ghost number");
    // Only the first draws said they were assigned.
    await waitFor(
      () => Promise.resolve(heard.messages.length >= 4),
      "4 messages",
      10_000,
    );
    assert.deepEqual(
      heard.messages.filter((m) => m.includes("assigned")),
      [
        'external r: 1 assigned to "a"',
        'external r: 2 assigned to "b"',
        'external r: 3 assigned to "a"',
      ],
    );
  },
);

redisTest(
  "a release that hands over grants the waiter with the next token, above the fence key it read",
  async (t) => {
    await using heard = await listen(t.redis);
    const a = await drawAs(t.redis, "a");
    const b = await drawAs(t.redis, "b");
    assert.deepEqual([b.n, b.granted, b.indicator, b.foreign], [
      2,
      false,
      1,
      false,
    ]);
    // A draw that waits keeps its number by token, for a draw sent again.
    assert.equal(await t.redis.get(drawKey(KEYS, b.place.token)), "2");
    const ttl = await t.redis.pttl(drawKey(KEYS, b.place.token));
    assert.ok(ttl > 0 && ttl <= EXPIRE, `draw key TTL ${ttl}`);
    // A fence key far ahead of the clock: the hand-over must go above it.
    await t.redis.set(KEYS.fence, "4000000000000000");
    await take(heard.messages, 3);
    const left = await run(t.redis, release(TARGET, a.place, "completed"));
    assert.deepEqual(left, { holder: true, ahead: 0, stuck: 0 });
    const fence = "4000000000000001";
    assert.deepEqual(await take(heard.messages, 5), [
      'external r: 1 completed by "a"',
      "internal turn:r:serial:2",
      "external r: 2 granted",
      `external r: 2 started (fence ${fence})`,
      `${
        wakeChannel(KEYS, b.place.token.slice(0, 16)).slice(KEYS.base.length)
      } 2 ${grantProof(b.place.token)} ${fence}`,
    ]);
    assert.equal(await t.redis.get(KEYS.fence), fence);
    assert.equal(await t.redis.get(KEYS.indicator), "2");
    // Nothing of the first draw is left; the second's keys are.
    assert.deepEqual(
      await t.redis.exists(
        presenceKey(KEYS, 1),
        tokenKey(KEYS, 1),
        drawKey(KEYS, a.place.token),
      ),
      0,
    );
    assert.equal(await t.redis.get(presenceKey(KEYS, 2)), "b");
    // The grant holds: a poll confirms it with a token above the last.
    const polled = await run(t.redis, poll(TARGET, b.place, EXPIRE));
    assert.equal(polled.verdict, "granted");
    assert.ok(polled.verdict === "granted" && polled.fence > BigInt(fence));
    await run(t.redis, release(TARGET, b.place, "completed"));
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest(
  "a release that hands over to a number drawn but not yet present says it is stuck",
  async (t) => {
    const a = await drawAs(t.redis, "a");
    // A turn 1.0 client between its INCR and its presence.
    await t.redis.incr(KEYS.dispenser);
    const left = await run(t.redis, release(TARGET, a.place, "completed"));
    assert.deepEqual(left, { holder: true, ahead: 0, stuck: 2 });
    assert.equal(await t.redis.get(KEYS.indicator), "2");
    assert.equal(await t.redis.exists(presenceKey(KEYS, 1)), 0);
    assert.equal(await t.redis.exists(tokenKey(KEYS, 1)), 0);
  },
);

redisTest(
  "a release of the newest number, named as skip after its holder's presence lapsed, ends the queue",
  async (t) => {
    await using heard = await listen(t.redis);
    const a = await drawAs(t.redis, "a");
    await take(heard.messages, 2);
    await t.redis.del(presenceKey(KEYS, 1));
    // Without its presence the caller holds only because skip names n.
    const step = release(TARGET, a.place, "completed");
    const call = { ...step.call, args: step.call.args.with(5, 1) };
    const left = step.read(await runScript(t.redis, call));
    assert.deepEqual(left, { holder: true, ahead: 0, stuck: 0 });
    assert.deepEqual(await allKeys(t.redis), []);
    assert.deepEqual(await take(heard.messages, 2), [
      'external r: 1 completed by "a"',
      "external r: 2 granted",
    ]);
  },
);

redisTest(
  "a draw after a settle in the same script, and a draw after the fence key was lost, get fresh tokens",
  async (t) => {
    const a = await drawAs(t.redis, "a");
    // The holder dies: its presence goes, its token key stays.
    await t.redis.del(presenceKey(KEYS, 1));
    // The next draw skips it (skip names the newest number), the queue
    // empties and starts again at 1: granted at once, after the settle.
    const c = await drawAs(t.redis, "c", newDrawToken(), 1);
    assert.deepEqual([c.n, c.granted], [1, true]);
    assert.ok(c.fence > a.fence, `fence ${c.fence} is not above ${a.fence}`);
    // A hand-over by settle, then a draw that waits: the settle's token is
    // above the last, and the next grant's above that.
    const d = await drawAs(t.redis, "d");
    assert.equal(d.n, 2);
    await t.redis.del(presenceKey(KEYS, 1));
    const e = await drawAs(t.redis, "e");
    assert.deepEqual([e.n, e.granted, e.indicator], [3, false, 2]);
    const settled = BigInt((await t.redis.get(KEYS.fence))!);
    assert.ok(settled > c.fence, `fence ${settled} is not above ${c.fence}`);
    await run(t.redis, release(TARGET, d.place, "completed"));
    const granted = await run(t.redis, poll(TARGET, e.place, EXPIRE));
    assert.ok(granted.verdict === "granted" && granted.fence > settled);
    await run(t.redis, release(TARGET, e.place, "completed"));
    // The fence key lost: the clock is the floor.
    await t.redis.del(KEYS.fence);
    const f = await drawAs(t.redis, "f");
    assert.ok(f.granted && f.fence > settled);
    await run(t.redis, release(TARGET, f.place, "completed"));
    // The skipped users' releases delete only what is left of their draws.
    for (const skipped of [a, c]) {
      const left = await run(t.redis, release(TARGET, skipped.place, "left"));
      assert.equal(left.holder, false);
    }
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest(
  "a draw behind an indicator that is not a whole number still says whether its holder is foreign",
  async (t) => {
    // No client writes such an indicator; the draw answers as it always did:
    // it waits behind 1.5, whose user (none) is not a client of this module.
    await t.redis.set(KEYS.dispenser, "1");
    await t.redis.set(KEYS.indicator, "1.5");
    const reply = await runScript(
      t.redis,
      draw(TARGET, {
        label: "a",
        expire: EXPIRE,
        token: newDrawToken(),
        skip: 0,
      })
        .call,
    );
    assert.deepEqual(reply, [2, 0, 1, 1]);
  },
);

redisTest(
  "a draw sent again after its number lapsed and the queue restarted with a user of the same label does not take that user's turn",
  async (t) => {
    const a = await drawAs(t.redis, "same");
    assert.deepEqual([a.n, a.granted], [1, true]);
    // Its lease ran out and the queue ended: nothing of it is left.
    await t.redis.del(KEYS.dispenser, KEYS.indicator);
    await t.redis.del(presenceKey(KEYS, 1), `${KEYS.base}token:1`);
    const b = await drawAs(t.redis, "same");
    assert.deepEqual([b.n, b.granted], [1, true]);
    const again = await drawAs(t.redis, "same", a.place.token);
    assert.deepEqual([again.n, again.granted], [2, false]);
  },
);

redisTest(
  "a try sent again after another user started waiting reports its grant",
  async (t) => {
    const token = newDrawToken();
    const args = { label: "a", expire: EXPIRE, token, skip: 0 };
    const first = await run(t.redis, tryDraw(TARGET, args));
    assert.deepEqual("n" in first && [first.n, first.granted], [1, true]);
    const b = await drawAs(t.redis, "b");
    assert.deepEqual([b.n, b.granted], [2, false]);
    const again = await run(t.redis, tryDraw(TARGET, args));
    assert.deepEqual("n" in again && [again.n, again.granted], [1, true]);
    assert.equal(await t.redis.get(KEYS.dispenser), "2", "no ghost number");
  },
);

redisTest(
  "a draw granted at once and sent again after a turn 1.0 user set the indicator back below it finds its number",
  async (t) => {
    // turn 1.0 user X held 1, user Y held 2 and released (SET indicator 3).
    await t.redis.set(KEYS.dispenser, "2");
    await t.redis.set(KEYS.indicator, "3");
    const a = await drawAs(t.redis, "a");
    assert.deepEqual([a.n, a.granted], [3, true]);
    // X's release, delayed, sets the indicator to 2 (non-atomic in turn 1.0).
    await t.redis.set(KEYS.indicator, "2");
    const again = await drawAs(t.redis, "a", a.place.token);
    assert.equal(again.n, 3, "the number it drew, not a new one");
    assert.equal(await t.redis.get(KEYS.dispenser), "3", "no ghost number");
  },
);
