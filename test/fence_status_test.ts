import assert from "node:assert/strict";
import { Locker } from "../mod.ts";
import {
  BACKENDS,
  followUntil,
  lockerTest,
  untilQueued,
  within,
} from "./support/helpers.ts";
import { cliDomain } from "./support/cli.ts";

lockerTest(
  "status reports the holder's fencing token, and the next holder's once it takes its turn",
  async (t) => {
    const [a, b] = [t.locker(), t.locker()];
    const first = await a.lock("fenced");
    const waiting = b.lock("fenced");
    await untilQueued(a, "fenced", 2);
    const [held] = await a.status(["fenced"]);
    assert.equal(held.fence, first.fence);
    assert.equal(held.users.length, 2);
    await first.release();
    const second = await within(waiting, 10_000, "the waiter's grant");
    assert.ok(second.fence > first.fence);
    const [next] = await b.status(["fenced"]);
    assert.equal(next.fence, second.fence);
    assert.deepEqual(next.users.map((user) => user.number), [second.number]);
    await second.release();
    // An idle resource has no queue to report, though its fence stays.
    assert.deepEqual(await a.status(["fenced"]), []);
  },
);

for (const backend of BACKENDS) {
  Deno.test(`turn status --json (${backend}) prints the holder's fencing token as a decimal string`, async () => {
    await using where = await cliDomain(backend);
    const locker = new Locker({ url: where.url });
    try {
      const lock = await locker.lock("printer");
      const shown = await where.run(["status", "--json", "printer"]);
      assert.equal(shown.code, 0, shown.stderr);
      const [status] = JSON.parse(shown.stdout);
      assert.equal(status.fence, String(lock.fence));
      assert.equal(BigInt(status.fence), lock.fence);
      await lock.release();
    } finally {
      await locker.close();
    }
  });
}

lockerTest(
  "follow's started events carry each grant's fencing token",
  async (t) => {
    const [a, b, c] = [t.locker(), t.locker(), t.locker()];
    const { events } = await followUntil(
      c,
      ["fenced"],
      (e) => e.kind === "started" && e.number === 2,
    );
    const first = await a.lock("fenced");
    const waiting = b.lock("fenced");
    await untilQueued(a, "fenced", 2);
    await first.release();
    const second = await within(waiting, 10_000, "the waiter's grant");
    await second.release();
    const started = (await within(events, 10_000, "the started events"))
      .filter((e) => e.kind === "started");
    assert.deepEqual(
      started.map((e) => [e.number, e.fence]),
      [[1, first.fence], [2, second.fence]],
    );
    assert.equal(
      started[1].message,
      `fenced: 2 started (fence ${second.fence})`,
    );
  },
);
