/**
 * A wait given up in the tick its grant is heard in: an abort that comes
 * first ends the wait, whatever the grant behind it says.
 */

import assert from "node:assert/strict";
import type { Lock } from "../mod.ts";
import {
  lockerTest,
  untilListening,
  untilQueued,
  within,
} from "./support/helpers.ts";

lockerTest(
  "a signal aborted as the waiter hears it is next rejects with its reason",
  async (t) => {
    const holder = t.locker();
    const waiter = t.locker();
    const held = await holder.lock("next", { expire: 60_000 });
    const controller = new AbortController();
    const reason = new Error("given up as it came next");
    // On Redis, one handoff publishes the announcement that the waiter is
    // next and then its grant, read in one go: the abort comes in between.
    const waiting = waiter.lock("next", {
      expire: 60_000,
      signal: controller.signal,
      onQueue: (ahead) => {
        if (ahead === 0) controller.abort(reason);
      },
    });
    const outcome = waiting.then((lock) => lock, (error) => error);
    await untilQueued(holder, "next", 2);
    await untilListening(t.url, "next", 2);
    await held.release();
    const got: unknown = await within(outcome, 5_000, "the wait's end");
    // The file backend grants without telling the waiter it is next first.
    if (t.backend === "redis") assert.ok(controller.signal.aborted);
    if (controller.signal.aborted) assert.equal(got, reason);
    else await (got as Lock).release();
    // The turn given up was handed on, not kept.
    assert.deepEqual(await t.leftovers(), []);
  },
);
