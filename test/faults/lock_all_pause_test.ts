// A lockAll that holds one resource and waits for another gives up (its
// timeout runs out, or its signal aborts) while Redis is paused with CLIENT
// PAUSE: it must reject while Redis is still paused, not once Redis answers
// again (chaos F7: the timeout fired ~1.3 s late, when the pause ended),
// and once Redis is back the set leaves nothing behind.
import assert from "node:assert/strict";
import { TimeoutError } from "../../mod.ts";
import {
  allKeys,
  redisTest,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";

/** Far beyond every wait below: Redis answers again only when it ends. */
const PAUSE_MS = 20_000;
const TIMEOUT_MS = 1_500;

const ways = {
  timeout: {
    limits: () => ({ timeout: TIMEOUT_MS }),
    giveUp: () => {},
    check: (error: unknown) => {
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.resource, "b");
      assert.equal(error.timeout, TIMEOUT_MS);
    },
  },
  abort: (() => {
    const controller = new AbortController();
    const reason = new Error("no longer needed");
    return {
      limits: () => ({ signal: controller.signal }),
      giveUp: () => controller.abort(reason),
      check: (error: unknown) => assert.equal(error, reason),
    };
  })(),
};

for (const [way, { limits, giveUp, check }] of Object.entries(ways)) {
  redisTest(
    `a lockAll that gives up (${way}) rejects while Redis is paused, and leaves the queues once Redis is back (chaos F7)`,
    async (t) => {
      const other = t.locker();
      const holder = await other.lock("b", { label: "holder" });
      const locker = t.locker();
      let heldA = false;
      const outcome = locker.lockAll(["a", "b"], {
        label: "set",
        ...limits(),
        onLocked: (lock) => heldA ||= lock.resource === "a",
      }).then(() => assert.fail("the set was granted"), (error) => error);
      await untilQueued(other, "b", 2);
      assert.ok(heldA, "a is held before the pause");
      await t.redis.call("CLIENT", "PAUSE", String(PAUSE_MS), "ALL");
      // Answered only once the pause is over.
      const back = t.redis.ping().then(() => "Redis answered again");
      giveUp();
      const first = await within(
        Promise.race([outcome.then(() => "rejected"), back]),
        PAUSE_MS * 2,
        "the rejection or the end of the pause",
      );
      assert.equal(first, "rejected");
      check(await outcome);
      await within(back, PAUSE_MS * 2, "the end of the pause");
      await holder.release();
      await waitFor(
        async () => (await allKeys(t.redis)).length === 0,
        "nothing left of the set",
      );
    },
  );
}
