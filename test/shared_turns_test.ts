import assert from "node:assert/strict";
import {
  CapacityError,
  type Lock,
  type Locker,
  TimeoutError,
  TurnModeError,
} from "../mod.ts";
import { lockerTest, waitFor, within } from "./support/helpers.ts";

/** Holders of `resource` by its status: numbers, in order. */
async function holders(locker: Locker, resource: string): Promise<number[]> {
  const [status] = await locker.status([resource]);
  return status?.users.filter((u) => u.holding).map((u) => u.number) ?? [];
}

/** Waits until `resource` has `users` live users. */
function untilUsers(locker: Locker, resource: string, users: number) {
  return waitFor(
    async () => (await locker.status([resource]))[0]?.users.length === users,
    `${users} users on ${resource}`,
  );
}

/** A witness of who holds: entries in, entries out, the most at once. */
class Witness {
  readonly inside = new Set<string>();
  most = 0;
  enter(who: string, alone = false): void {
    if (alone) {
      assert.equal(this.inside.size, 0, `${who} entered beside others`);
    }
    for (const other of this.inside) {
      assert.ok(!other.startsWith("writer"), `${who} entered beside ${other}`);
    }
    this.inside.add(who);
    this.most = Math.max(this.most, this.inside.size);
  }
  leave(who: string): void {
    this.inside.delete(who);
  }
}

lockerTest(
  "capacity 3: three hold at once, the rest wait in ticket order",
  async (t) => {
    const locker = t.locker();
    const held: Lock[] = [];
    for (let i = 0; i < 3; i++) {
      held.push(await locker.lock("gpu", { capacity: 3, label: `user ${i}` }));
    }
    assert.deepEqual(held.map((l) => l.number), [1, 2, 3]);
    const order: number[] = [];
    const waiting = [4, 5].map((i) =>
      locker.lock("gpu", { capacity: 3, label: `user ${i}` }).then((lock) => {
        order.push(lock.number);
        return lock;
      })
    );
    await untilUsers(locker, "gpu", 5);
    const [status] = await locker.status(["gpu"]);
    assert.deepEqual(status.places, { capacity: 3, holders: 3, placesLeft: 0 });
    assert.deepEqual(
      status.users.map((u) => [u.number, u.kind, u.holding]),
      [
        [1, "shared", true],
        [2, "shared", true],
        [3, "shared", true],
        [4, "shared", false],
        [5, "shared", false],
      ],
    );
    // A place freed out of order goes to the next ticket, never a later one.
    await held[1].release();
    const fourth = await within(waiting[0], 10_000, "the fourth user");
    assert.equal(fourth.number, 4);
    assert.deepEqual(await holders(locker, "gpu"), [1, 3, 4]);
    assert.deepEqual(order, [4]);
    await held[0].release();
    const fifth = await within(waiting[1], 10_000, "the fifth user");
    assert.deepEqual(order, [4, 5]);
    for (const lock of [held[2], fourth, fifth]) await lock.release();
    assert.deepEqual(await locker.status(["gpu"]), []);
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "readers hold together, a writer alone, and readers behind a writer wait",
  async (t) => {
    const locker = t.locker();
    const witness = new Witness();
    const r1 = await locker.lock("db", { shared: true });
    witness.enter("reader 1");
    const r2 = await locker.lock("db", { shared: true });
    witness.enter("reader 2");
    const writer = locker.lock("db", { shared: false }).then((lock) => {
      witness.enter("writer", true);
      return lock;
    });
    await untilUsers(locker, "db", 3);
    const r3 = locker.lock("db", { shared: true }).then((lock) => {
      witness.enter("reader 3");
      return lock;
    });
    await untilUsers(locker, "db", 4);
    const [status] = await locker.status(["db"]);
    assert.deepEqual(status.places, {
      capacity: null,
      holders: 2,
      placesLeft: null,
    });
    witness.leave("reader 1");
    await r1.release();
    witness.leave("reader 2");
    await r2.release();
    const w = await within(writer, 10_000, "the writer");
    assert.deepEqual(await holders(locker, "db"), [3]);
    assert.deepEqual(
      (await locker.status(["db"]))[0].places,
      { capacity: null, holders: 1, placesLeft: 0 },
    );
    witness.leave("writer");
    await w.release();
    const r = await within(r3, 10_000, "the reader behind the writer");
    witness.leave("reader 3");
    await r.release();
    assert.equal(witness.most, 2);
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "every user of a resource asks for one capacity, but an idle one takes any",
  async (t) => {
    const locker = t.locker();
    const lock = await locker.lock("api", { capacity: 3 });
    const asked = locker.lock("api", { capacity: 2 });
    await assert.rejects(asked, (error: unknown) => {
      assert.ok(error instanceof CapacityError);
      assert.match(error.message, /capacity 3 .*asked for 2/);
      return true;
    });
    await assert.rejects(
      locker.lock("api", { shared: true }),
      /capacity 3 .*asked for no limit/,
    );
    assert.deepEqual(
      (await locker.status(["api"]))[0].users.map((u) => u.number),
      [1],
    );
    await lock.release();
    const again = await locker.lock("api", { capacity: 2 });
    assert.equal((await locker.status(["api"]))[0].places?.capacity, 2);
    await again.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("plain and shared turns never share a resource", async (t) => {
  const locker = t.locker();
  const plain = await locker.lock("mixed");
  await assert.rejects(
    locker.lock("mixed", { capacity: 2 }),
    (error: unknown) => error instanceof TurnModeError,
  );
  await plain.release();
  const shared = await locker.lock("mixed", { shared: true });
  await assert.rejects(
    locker.lock("mixed"),
    (error: unknown) =>
      error instanceof TurnModeError && /shared: false/.test(error.message),
  );
  await assert.rejects(locker.tryLock("mixed"), TurnModeError);
  await shared.release();
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest(
  "tryLock takes a free place and finds a full resource busy",
  async (t) => {
    const locker = t.locker();
    const a = await locker.tryLock("slots", { capacity: 2 });
    const b = await locker.tryLock("slots", { capacity: 2 });
    assert.ok(a && b);
    assert.equal(await locker.tryLock("slots", { capacity: 2 }), null);
    assert.equal(
      await locker.tryLock("slots", { capacity: 2, shared: false }),
      null,
    );
    await a.release();
    const c = await locker.tryLock("slots", { capacity: 2 });
    assert.ok(c);
    await b.release();
    await c.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "a waiter that times out leaves, and the next one gets the place",
  async (t) => {
    const locker = t.locker();
    const holder = await locker.lock("pool", { capacity: 2, shared: false });
    const timed = locker.lock("pool", { capacity: 2, timeout: 300 });
    const next = locker.lock("pool", { capacity: 2 });
    await assert.rejects(timed, TimeoutError);
    await holder.release();
    const lock = await within(next, 10_000, "the waiter behind");
    assert.equal(lock.number, 3);
    await lock.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("an aborted waiter leaves", async (t) => {
  const locker = t.locker();
  const holder = await locker.lock("pool", { shared: false });
  const controller = new AbortController();
  const waiting = locker.lock("pool", {
    shared: true,
    signal: controller.signal,
  });
  await untilUsers(locker, "pool", 2);
  controller.abort(new Error("no longer needed"));
  await assert.rejects(waiting, /no longer needed/);
  await holder.release();
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest("lockAll and withLock take shared turns", async (t) => {
  const locker = t.locker();
  const set = await locker.lockAll(["a", "b"], { capacity: 2 });
  const other = await locker.lockAll(["a", "b"], { capacity: 2 });
  assert.deepEqual(await holders(locker, "a"), [1, 2]);
  assert.deepEqual(await holders(locker, "b"), [1, 2]);
  const inside = locker.withLock("a", () => holders(locker, "a"), {
    capacity: 2,
  });
  await untilUsers(locker, "a", 3);
  await set.release();
  assert.deepEqual(await within(inside, 10_000, "withLock"), [2, 3]);
  await other.release();
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest(
  "capacity and shared are checked before anything is sent",
  async (t) => {
    const locker = t.locker();
    for (const capacity of [0, -1, 2.5, NaN, Infinity, "3"]) {
      await assert.rejects(
        locker.lock("x", { capacity: capacity as number }),
        (error: unknown) =>
          error instanceof RangeError &&
          error.message.startsWith(
            "capacity must be a whole number of places, at least 1: got",
          ),
      );
    }
    await assert.rejects(
      locker.lock("x", { shared: "yes" as unknown as boolean }),
      /shared must be true or false: got "yes"/,
    );
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("capacity 1 alone is a plain turn", async (t) => {
  const locker = t.locker();
  const lock = await locker.lock("one", { capacity: 1 });
  const [status] = await locker.status(["one"]);
  assert.equal(status.places, undefined);
  const plain = locker.tryLock("one");
  assert.equal(await plain, null);
  await lock.release();
});
