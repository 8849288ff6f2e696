// A user's onQueue callback that throws must never break the Locker: the
// wait goes on, the error is reported, and the process lives.
import assert from "node:assert/strict";
import { lockerTest, untilQueued, waitFor, within } from "./support/helpers.ts";

lockerTest(
  "an onQueue callback that throws is reported and the wait goes on",
  async (t) => {
    const first = await t.locker().lock("printer");
    const secondLocker = t.locker();
    const second = secondLocker.lock("printer");
    await untilQueued(secondLocker, "printer", 2);
    const calls: number[] = [];
    const reported: unknown[][] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void reported.push(args);
    try {
      const third = t.locker().lock("printer", {
        timeout: 10_000,
        onQueue: (ahead) => {
          calls.push(ahead);
          throw new Error("a bug in the caller's callback");
        },
      });
      await untilQueued(secondLocker, "printer", 3);
      // The handoff announces a new indicator: the callback throws inside the
      // announcement handler, which must not end the process.
      await first.release();
      const secondLock = await within(second, 10_000, "second granted");
      // The third sees the new indicator (by the announcement, or by its
      // first look if it subscribed after it) before the second lets go.
      await waitFor(
        () => Promise.resolve(calls.length >= 2),
        "the third told of the handoff",
      );
      await secondLock.release();
      const lock = await within(third, 10_000, "third granted");
      assert.equal(lock.number, 3);
      await lock.release();
    } finally {
      console.error = consoleError;
    }
    assert.ok(calls.length >= 2, `onQueue called ${calls.length} time(s)`);
    assert.equal(reported.length, calls.length);
    assert.match(
      String(reported[0][0]),
      /the onQueue callback failed; carrying on/,
    );
  },
);

lockerTest(
  "a lockAll whose onQueue throws still takes every resource",
  async (t) => {
    const holder = await t.locker().lock("b");
    const consoleError = console.error;
    let reported = 0;
    console.error = () => void reported++;
    try {
      const set = t.locker().lockAll(["a", "b"], {
        timeout: 10_000,
        onQueue: () => {
          throw new Error("a bug in the caller's callback");
        },
      });
      await untilQueued(t.locker(), "b", 2);
      await holder.release();
      const held = await within(set, 10_000, "set granted");
      assert.deepEqual(held.locks.map((l) => l.resource), ["a", "b"]);
      await held.release();
    } finally {
      console.error = consoleError;
    }
    assert.ok(reported >= 1);
  },
);
