/**
 * The heartbeat of a long-lived Locker renews every held lease by its own
 * `expire / 3`, whatever else the Locker holds or waits for.
 */

import assert from "node:assert/strict";
import { LeaseLostError } from "../../mod.ts";
import { presenceKey, resourceKeys } from "../../src/redis/keys.ts";
import { redisTest, waitFor } from "../support/helpers.ts";
import { delay } from "../../src/wait.ts";

for (const take of ["lock", "tryLock"] as const) {
  redisTest(
    `a short lease granted by ${take} beside a long one is renewed before the long one's beat`,
    async (t) => {
      const locker = t.locker();
      // Its beats come every 5 s, the first 5 s after it was granted.
      const long = await locker.lock("long", { expire: 15_000 });
      const since = Date.now();
      // Renewed every 2 s: twice before the long lease's first beat.
      const short = (await locker[take]("short", { expire: 6_000 }))!;
      const granted = short.validUntil;
      // From before the long lease's first beat to past the short lease's
      // first deadline, no timer runs: only renewals sent by then count.
      await delay(since + 4_000 - Date.now());
      while (Date.now() < granted + 500) { /* blocked */ }
      assert.ok(
        short.validUntil > granted,
        "the short lease was never renewed",
      );
      assert.equal(short.signal.aborted, false);
      await delay(0);
      assert.equal(short.signal.aborted, false);
      await short.release();
      await long.release();
    },
  );
}

redisTest(
  "a lease lost before anyone read its signal shows as lost, with the beat's reason, when read",
  async (t) => {
    const locker = t.locker();
    await (await locker.lock("lost", { expire: 1_500 })).release();
    const held = await locker.lock("lost", { expire: 1_500 });
    await t.redis.del(presenceKey(resourceKeys("lost"), held.number));
    // Renewals go every 500 ms: the first after the presence went finds it
    // gone, long before the lease would run out locally.
    await waitFor(
      () => Promise.resolve(Date.now() > held.validUntil + 100),
      "the lease's end",
    );
    assert.equal(held.signal.aborted, true);
    const reason = held.signal.reason;
    assert.ok(reason instanceof LeaseLostError, String(reason));
    assert.match(reason.message, /its presence expired/);
    await held.release();
    await locker.reset(["lost"]);
  },
);
