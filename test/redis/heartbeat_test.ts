/**
 * The heartbeat of a long-lived Locker renews every held lease by its own
 * `expire / 3`, whatever else the Locker holds or waits for.
 */

import assert from "node:assert/strict";
import { redisTest } from "../support/helpers.ts";
import { delay } from "../../src/wait.ts";

redisTest(
  "a short lease granted beside a long one is renewed before the long one's beat",
  async (t) => {
    const locker = t.locker();
    // Its beats come every 5 s, the first 5 s after it was granted.
    const long = await locker.lock("long", { expire: 15_000 });
    const since = Date.now();
    // Renewed every 2 s: twice before the long lease's first beat.
    const short = await locker.lock("short", { expire: 6_000 });
    const granted = short.validUntil;
    // From before the long lease's first beat to past the short lease's
    // first deadline, no timer runs: only renewals sent by then count.
    await delay(since + 4_000 - Date.now());
    while (Date.now() < granted + 500) { /* blocked */ }
    assert.ok(short.validUntil > granted, "the short lease was never renewed");
    assert.equal(short.signal.aborted, false);
    await delay(0);
    assert.equal(short.signal.aborted, false);
    await short.release();
    await long.release();
  },
);
