import assert from "node:assert/strict";
import { LeaseLostError, TimeoutError } from "../mod.ts";
import {
  followUntil,
  leaseLost,
  lockerTest,
  redisTest,
  untilCleared,
  untilQueued,
  within,
} from "./support/helpers.ts";

lockerTest(
  "lockAll takes resources once each, in sorted order, and releases in reverse",
  async (t) => {
    const locker = t.locker();
    const taken: string[] = [];
    const set = await locker.lockAll(["c", "a", "b", "a"], {
      onAcquiring: (resource) => taken.push(resource),
    });
    assert.deepEqual(taken, ["a", "b", "c"]);
    assert.deepEqual(set.locks.map((l) => l.resource), ["a", "b", "c"]);
    const { events } = await followUntil(
      locker,
      ["a", "b", "c"],
      (_event, seen) => seen.filter((e) => e.kind === "completed").length === 3,
    );
    await set.release();
    await set.release();
    const completed = (await within(events, 5000, "releases")).filter((e) =>
      e.kind === "completed"
    );
    assert.deepEqual(completed.map((e) => e.resource), ["c", "b", "a"]);
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "lockAll's timeout bounds the whole set and gives back what it held",
  async (t) => {
    const locker = t.locker();
    const other = t.locker();
    const blocker = await other.lock("b");
    const error = await locker.lockAll(["a", "b"], { timeout: 300 }).catch((
      e,
    ) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.resource, "b");
    // "a" was given back when "b" timed out.
    const [a] = await locker.status(["a"]);
    assert.equal(a, undefined);
    await blocker.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "two lockAll calls on overlapping sets in opposite orders never deadlock",
  async (t) => {
    const first = t.locker();
    const second = t.locker();
    const holder = await first.lock("y");
    const one = first.lockAll(["x", "y"]);
    await untilQueued(first, "y", 2);
    const two = second.lockAll(["y", "x"]);
    // Sorted order: the second set waits for "x", never holding "y" meanwhile.
    await untilQueued(first, "x", 2);
    await holder.release();
    const [a, b] = await within(
      Promise.all([
        one.then(async (s) => (await s.release(), "one")),
        two.then(async (s) => (await s.release(), "two")),
      ]),
      10_000,
      "both sets",
    );
    assert.deepEqual([a, b], ["one", "two"]);
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("tryLockAll is all or nothing", async (t) => {
  const locker = t.locker();
  const busy = await locker.lock("m");
  assert.equal(await locker.tryLockAll(["l", "m", "n"]), null);
  assert.deepEqual((await locker.status()).map((s) => s.resource), ["m"]);
  await busy.release();
  const set = await locker.tryLockAll(["l", "m", "n"]);
  assert.ok(set);
  assert.equal(set.locks.length, 3);
  await set.release();
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest("lockAll checks every name before taking any", async (t) => {
  const locker = t.locker();
  await assert.rejects(
    locker.lockAll(["ok", ""]),
    /resource must not be empty/,
  );
  await assert.rejects(
    locker.lockAll(["ok"], { timeout: -1 }),
    /timeout must be a positive number of milliseconds: got -1/,
  );
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest(
  "a set's signal aborts when a lock other than the first loses its lease",
  async (t) => {
    const locker = t.locker();
    const set = await locker.lockAll(["a", "b", "c"], { expire: 300 });
    const [, b] = set.locks;
    await t.removePresence("b", b.number);
    const reason = await within(
      new Promise((resolve) => {
        if (set.signal.aborted) return resolve(set.signal.reason);
        set.signal.addEventListener(
          "abort",
          () => resolve(set.signal.reason),
        );
      }),
      5000,
      "the set's lease lost",
    );
    assert.ok(reason instanceof LeaseLostError, String(reason));
    assert.equal(reason.resource, "b");
    assert.equal(await leaseLost(b), reason);
    assert.equal(set.locks[0].signal.aborted, false);
    await set.release();
    // A lost turn claims nothing on release; reset clears the queue it left.
    await untilCleared(locker, ["b"], t.leftovers);
  },
);

redisTest(
  "reading a set's signal checks every lease's deadline, like a lock's",
  async (t) => {
    const locker = t.locker();
    const set = await locker.lockAll(["a", "b"], { expire: 300 });
    // The event loop blocked past expire: no timer and no heartbeat has run.
    const until = Date.now() + 400;
    while (Date.now() < until) { /* blocked */ }
    assert.equal(set.signal.aborted, true);
    assert.ok(set.signal.reason instanceof LeaseLostError);
    await set.release();
  },
);
