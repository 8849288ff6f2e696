import assert from "node:assert/strict";
import {
  allKeys,
  followUntil,
  redisTest,
  untilListening,
  untilQueued,
  within,
} from "../support/helpers.ts";
import { turn1Lock } from "../../support/turn1_client.ts";

redisTest(
  "a turn 1.0 holder hands over to a waiter of this module",
  async (t) => {
    const python = await turn1Lock(t.server.port, "shared", "python");
    await within(python.started, 5000, "turn 1.0 holder started");
    const locker = t.locker();
    const waiting = locker.lock("shared", { label: "deno", patience: 600_000 });
    await untilQueued(locker, "shared", 2);
    // turn 1.0 finds presences by turn:<r>:serial:*: each still holds a plain
    // label, and this module's token and draw keys do not match the pattern.
    const presences = (await t.redis.keys("turn:shared:serial:*")).sort();
    assert.deepEqual(presences, [
      "turn:shared:serial:1",
      "turn:shared:serial:2",
    ]);
    assert.deepEqual(await t.redis.mget(...presences), ["python", "deno"]);
    await python.complete();
    const lock = await within(
      waiting,
      5000,
      "granted after turn 1.0 completes",
    );
    assert.equal(lock.number, 2);
    await lock.release();
    python.close();
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest("a turn 1.0 waiter is woken when this module releases", async (t) => {
  const locker = t.locker();
  const lock = await locker.lock("shared", { label: "deno" });
  const python = await turn1Lock(t.server.port, "shared", "python");
  assert.equal(python.number, 2);
  await lock.release();
  await within(python.started, 5000, "turn 1.0 waiter started");
  const [status] = await locker.status(["shared"]);
  assert.deepEqual(status.users.map((u) => [u.number, u.label]), [
    [2, "python"],
  ]);
  await python.complete();
  python.close();
});

redisTest(
  "a turn 1.0 holder that crashed is skipped without waiting for patience",
  async (t) => {
    const python = await turn1Lock(t.server.port, "shared", "python", 2);
    await within(python.started, 5000, "turn 1.0 holder started");
    const locker = t.locker();
    const waiting = locker.lock("shared", { label: "deno", patience: 600_000 });
    await untilQueued(locker, "shared", 2);
    // Let the waiter finish settling in (subscribed, then one check).
    await untilListening(t.server.url, "shared", 2);
    // turn 1.0's exception path deletes the presence and does not advance.
    await python.crash();
    const crashedAt = Date.now();
    // No later than the holder's TTL (2 s) would have run out.
    const lock = await within(waiting, 4000, "granted after the crash");
    console.log(`granted ${Date.now() - crashedAt} ms after the crash`);
    assert.equal(lock.number, 2);
    await lock.release();
    python.close();
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest(
  "a turn announced by turn 1.0 for a user that left is skipped at once",
  async (t) => {
    const python = await turn1Lock(t.server.port, "shared", "python");
    await within(python.started, 5000, "turn 1.0 holder started");
    const locker = t.locker();
    const controller = new AbortController();
    const leaver = locker.lock("shared", { signal: controller.signal });
    leaver.catch(() => {});
    const waiting = locker.lock("shared", { label: "deno", patience: 600_000 });
    await untilQueued(locker, "shared", 3);
    // turn 1.0's completion is not atomic: a waiter's check that ran between
    // its DEL and its SET of the indicator would be overwritten, and the keys
    // left behind. Only the announcement may start the waiter's check.
    await untilListening(t.server.url, "shared", 2);
    controller.abort();
    await assert.rejects(leaver);
    // turn 1.0 sets the indicator to n + 1 (the one that left) unconditionally.
    await python.complete();
    const lock = await within(waiting, 3000, "dead announcement skipped");
    assert.equal(lock.number, 3);
    await lock.release();
    python.close();
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest("turn 1.0 follow output shows users of this module", async (t) => {
  const locker = t.locker();
  const { events } = await followUntil(
    locker,
    ["test_resource"],
    (e) => e.kind === "granted",
  );
  const fence = await locker.withLock("test_resource", (lock) => lock.fence, {
    label: "test_label",
  });
  // The raw payloads are exactly what turn 1.0's `turn follow` prints, but
  // for the fencing token the started line names.
  assert.deepEqual((await events).map((e) => e.message), [
    'test_resource: 1 assigned to "test_label"',
    `test_resource: 1 started (fence ${fence})`,
    'test_resource: 1 completed by "test_label"',
    "test_resource: 2 granted",
  ]);
});

redisTest(
  "a turn 1.0 waiter bumps past a crashed turn 1.0 holder after its patience",
  async (t) => {
    const holder = await turn1Lock(t.server.port, "shared", "first");
    await holder.started;
    const waiter = await turn1Lock(t.server.port, "shared", "second", 60, {
      patienceSeconds: 0.5,
    });
    const { events } = await followUntil(
      t.locker(),
      ["shared"],
      (e) => e.message === "shared: 2 started",
    );
    // turn 1.0's exception path leaves the indicator on the dead holder.
    await holder.crash();
    await within(waiter.started, 5000, "the waiter bumped and started");
    // Bumps before the crash find the holder still there: from the crash on.
    const messages = (await events).map((e) => e.message);
    assert.deepEqual(messages.slice(messages.indexOf("shared: 1 crashed!")), [
      "shared: 1 crashed!",
      "shared: 2 bumps",
      "shared: 2 granted",
      "shared: 2 started",
    ]);
    await waiter.complete();
    holder.close();
    waiter.close();
  },
);
