import assert from "node:assert/strict";
import { Redis } from "ioredis";
import {
  fixture,
  lockerTest,
  spawnHolder,
  waitFor,
  within,
} from "./support/helpers.ts";
import { startRedis } from "../support/redis_server.ts";
import type { LockOptions } from "../mod.ts";

interface Hammer {
  readonly label: string;
  readonly options: LockOptions;
  readonly cycles: number;
  readonly meet?: number;
}

/** Runs hammers in separate processes; gives the witness's findings. */
async function hammer(url: string, resource: string, hammers: Hammer[]) {
  await using server = await startRedis();
  const witness = new Redis(server.port, "127.0.0.1");
  try {
    const children = hammers.map(({ label, options, cycles, meet = 0 }) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          fixture("shared_hammer.ts"),
          url,
          server.url,
          resource,
          String(cycles),
          label,
          "20",
          JSON.stringify(options),
          String(meet),
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn()
    );
    await within(
      Promise.all(children.map(async (child) => {
        const { code, stderr } = await child.output();
        assert.equal(code, 0, new TextDecoder().decode(stderr));
      })),
      150_000,
      "hammer processes",
    );
    return {
      max: Number(await witness.get("witness:max")),
      violations: await witness.lrange("witness:violations", 0, -1),
      order: await witness.lrange("witness:order", 0, -1),
      grants: await witness.lrange("witness:grants", 0, -1),
    };
  } finally {
    witness.disconnect();
  }
}

lockerTest(
  "8 processes on capacity 3: never more than 3 hold, and 3 do",
  async (t) => {
    const found = await hammer(
      t.url,
      "gpu",
      Array.from({ length: 8 }, (_, i) => ({
        label: `p${i}`,
        options: { capacity: 3 },
        cycles: 4,
        meet: 3,
      })),
    );
    assert.equal(found.max, 3);
    assert.deepEqual(found.violations, []);
    assert.deepEqual(found.order, []);
    assert.equal(found.grants.length, 32);
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("reader processes hold together", async (t) => {
  const found = await hammer(
    t.url,
    "db",
    Array.from({ length: 4 }, (_, i) => ({
      label: `reader${i}`,
      options: { shared: true },
      cycles: 3,
      meet: 4,
    })),
  );
  assert.equal(found.max, 4);
  assert.deepEqual(found.violations, []);
  assert.deepEqual(found.order, []);
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest(
  "writer processes among readers are always alone, in ticket order",
  async (t) => {
    const found = await hammer(t.url, "db", [
      ...Array.from({ length: 4 }, (_, i) => ({
        label: `reader${i}`,
        options: { shared: true },
        cycles: 5,
      })),
      ...Array.from({ length: 2 }, (_, i) => ({
        label: `writer${i}`,
        options: { shared: false },
        cycles: 5,
      })),
    ]);
    assert.deepEqual(found.violations, []);
    assert.deepEqual(found.order, []);
    assert.equal(found.grants.length, 30);
    assert.ok(found.grants.some((g) => g.startsWith("writer")));
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "a killed holder's place goes to the next within its expire, and a killed waiter is skipped",
  async (t) => {
    const expire = 2000;
    const options = { capacity: 2 };
    await using a = spawnHolder(t.url, "pool", expire, "a", options);
    assert.equal(await within(a.held, 30_000, "a holds"), 1);
    const locker = t.locker();
    const b = await locker.lock("pool", { ...options, label: "b" });
    await using c = spawnHolder(t.url, "pool", expire, "c", options);
    await waitFor(
      async () => (await locker.status(["pool"]))[0]?.users.length === 3,
      "c waits",
    );
    const d = locker.lock("pool", {
      ...options,
      label: "d",
      patience: 600_000,
    });
    await waitFor(
      async () => (await locker.status(["pool"]))[0]?.users.length === 4,
      "d waits",
    );
    // The waiter ahead of d dies: d must not wait for it.
    await c.kill();
    const killedAt = Date.now();
    await a.kill();
    const lock = await within(d, 10_000, "d's turn after the kills");
    const recovery = Date.now() - killedAt;
    console.log(
      `recovery of a place after SIGKILL [${t.backend} ${t.mode}]: ${recovery} ms (expire ${expire} ms)`,
    );
    const bound = t.backend === "redis" ? expire + 500 : expire;
    assert.ok(recovery < bound, `recovered after ${recovery} ms`);
    assert.equal(lock.number, 4);
    await lock.release();
    await b.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);
