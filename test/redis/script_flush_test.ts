import assert from "node:assert/strict";
import {
  deafen,
  redisTest,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";

redisTest(
  "long-lived Lockers keep going after SCRIPT FLUSH: draw, renew, poll, release",
  async (t) => {
    const holder = t.locker();
    const waiter = t.locker();
    // Both have run every script once, so Redis has them cached.
    await (await holder.lock("flushed")).release();
    await (await waiter.lock("flushed")).release();
    await t.redis.script("FLUSH");
    const first = await within(
      holder.lock("flushed", { expire: 1000 }),
      5000,
      "draw",
    );
    await t.redis.script("FLUSH");
    const second = waiter.lock("flushed", { expire: 1000 });
    await untilQueued(holder, "flushed", 2);
    await t.redis.script("FLUSH");
    const renewedFrom = first.validUntil;
    await waitFor(
      () => Promise.resolve(first.validUntil > renewedFrom),
      "a renewal",
    );
    assert.equal(first.signal.aborted, false);
    // Unheard, the grant reaches the waiter only by its poll.
    const hear = await deafen(t.redis);
    await t.redis.script("FLUSH");
    await within(first.release(), 5000, "release");
    await t.redis.script("FLUSH");
    const granted = await within(second, 10_000, "the waiter's poll");
    await hear();
    assert.ok(granted.fence > first.fence);
    await t.redis.script("FLUSH");
    await within(granted.release(), 5000, "second release");
    const again = await within(holder.tryLock("flushed"), 5000, "a try");
    assert.ok(again);
    await t.redis.script("FLUSH");
    await again.release();
  },
);
