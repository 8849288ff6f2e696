import assert from "node:assert/strict";
import { Redis } from "ioredis";
import {
  ConnectionError,
  LeaseLostError,
  type Lock,
  Locker,
  TimeoutError,
  TurnError,
} from "../mod.ts";
import {
  allKeys,
  followUntil,
  leaseLost,
  lockerTest,
  redisTest,
  untilQueued,
  waitFor,
  within,
} from "./support/helpers.ts";
import { startRedis } from "../support/redis_server.ts";

lockerTest(
  "one lock cycle publishes turn 1.0's messages and leaves no keys",
  async (t) => {
    const locker = t.locker();
    const { events } = await followUntil(
      locker,
      ["printer"],
      (e) => e.kind === "granted",
    );
    const fence = await locker.withLock("printer", (lock) => lock.fence, {
      label: "test_label",
    });
    const messages = (await within(events, 5000, "events")).map((e) =>
      e.message
    );
    assert.deepEqual(messages, [
      'printer: 1 assigned to "test_label"',
      `printer: 1 started (fence ${fence})`,
      'printer: 1 completed by "test_label"',
      "printer: 2 granted",
    ]);
    assert.deepEqual(await t.leftovers(), []);
  },
);

redisTest(
  "uncontended lock and release cost one script call each",
  async (t) => {
    // Only this Locker's commands count: MONITOR shows each with the
    // connection it came from, and a marker sent on that connection after a
    // step shows that every command of the step has been seen.
    // Nothing may reach the server while MONITOR starts: ioredis marks its
    // connection as monitoring only a tick after the +OK, so a command fed in
    // the same read (a new client's INFO ready check, under load) is taken
    // for an unasked reply ("Command queue state error") and fails the test.
    await t.redis.ping();
    const monitor = await t.redis.monitor();
    const client = new Redis(t.server.url);
    try {
      const locker = new Locker({ redis: client });
      await (await locker.lock("warm")).release();
      const source = `127.0.0.1:${client.stream.localPort}`;
      const scripts: string[] = [];
      const markers: string[] = [];
      monitor.on("monitor", (_time: string, args: string[], from: string) => {
        if (from !== source) return;
        const name = args[0].toLowerCase();
        if (name === "echo") markers.push(args[1]);
        else if (name === "evalsha" || name === "eval") scripts.push(name);
      });
      const scriptsUntil = async (marker: string) => {
        await client.echo(marker);
        await waitFor(
          () => Promise.resolve(markers.includes(marker)),
          `marker ${marker}`,
        );
        return scripts.length;
      };
      const before = await scriptsUntil("before");
      const lock = await locker.lock("printer");
      const afterLock = await scriptsUntil("locked");
      await lock.release();
      const afterRelease = await scriptsUntil("released");
      assert.equal(afterLock - before, 1);
      assert.equal(afterRelease - afterLock, 1);
      await locker.close();
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  },
);

lockerTest("waiters are granted first come, first served", async (t) => {
  const locker = t.locker();
  const holder = await locker.lock("r", { label: "holder" });
  const order: string[] = [];
  const waiters = ["a", "b", "c", "d"].map(async (label) => {
    const lock = await locker.lock("r", { label });
    order.push(label);
    await lock.release();
  });
  // Each waiter draws its number in call order before the holder lets go.
  await untilQueued(locker, "r", 5);
  await holder.release();
  await within(Promise.all(waiters), 5000, "waiters");
  assert.deepEqual(order, ["a", "b", "c", "d"]);
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest(
  "locks asked in turn draw in turn, with a signal or without, connected or not yet",
  async (t) => {
    const locker = t.locker();
    for (const round of [1, 2]) {
      const signal = new AbortController().signal;
      const asked = [
        locker.lock("in turn", { label: "signal", signal }),
        locker.lock("in turn", { label: "plain" }),
        locker.lock("in turn", { label: "signal again", signal }),
      ];
      const numbers: number[] = [];
      for (const lock of asked) {
        const held = await within(lock, 5000, `round ${round}`);
        numbers.push(held.number);
        await held.release();
      }
      assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
    }
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "locks asked in turn are granted in turn, with a timeout or without, connected or not yet",
  async (t) => {
    const locker = t.locker();
    for (const round of [1, 2]) {
      const signal = new AbortController().signal;
      const labels = ["try", "plain", "timeout", "signal", "both", "again"];
      const granted: string[] = [];
      // The last one asked holds or waits until the late try has its answer:
      // a try whose draw comes after every turn was released may take it.
      const tried = Promise.withResolvers<void>();
      // The others are released as soon as granted, so the next may come.
      const take = async (lock: Promise<Lock | null>, keep?: Promise<void>) => {
        const held = await lock;
        if (held === null) return;
        granted.push(held.label);
        await keep;
        await held.release();
      };
      const asked = [
        take(locker.tryLock("in turn", { label: "try" })),
        take(locker.lock("in turn", { label: "plain" })),
        take(locker.lock("in turn", { label: "timeout", timeout: 60_000 })),
        take(locker.lock("in turn", { label: "signal", signal })),
        take(
          locker.lock("in turn", { label: "both", signal, timeout: 60_000 }),
        ),
        take(locker.lock("in turn", { label: "again" }), tried.promise),
      ];
      // Asked behind the others, it finds the turn taken.
      const late = await within(locker.tryLock("in turn"), 5000, "late try");
      tried.resolve();
      assert.equal(late, null, `round ${round}: a late try took the turn`);
      await within(Promise.all(asked), 5000, `round ${round}`);
      assert.deepEqual(granted, labels, `round ${round}`);
    }
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("status lists holder and waiters in order", async (t) => {
  const locker = t.locker();
  const holder = await locker.lock("s", { label: "first" });
  const waiting = locker.lock("s", { label: "second" });
  await untilQueued(locker, "s", 2);
  const [status] = await locker.status(["s", "absent"]);
  assert.equal(status.resource, "s");
  assert.equal(status.indicator, 1);
  assert.equal(status.dispenser, 2);
  assert.equal(status.size, 2);
  assert.deepEqual(status.users.map((u) => [u.number, u.label]), [
    [1, "first"],
    [2, "second"],
  ]);
  // Redis presences expire; file presences last as long as their process.
  assert.ok(
    status.users.every((u) =>
      t.backend === "file" ? u.ttl === -1 : u.ttl > 0 && u.ttl <= 60_000
    ),
  );
  assert.deepEqual((await locker.status()).map((s) => s.resource), ["s"]);
  await holder.release();
  await (await within(waiting, 5000, "the second's turn")).release();
});

lockerTest(
  "a throwing critical section hands over at once, not after patience",
  async (t) => {
    const locker = t.locker();
    const other = t.locker();
    const { events } = await followUntil(
      locker,
      ["job"],
      (e) => e.kind === "started" && e.number === 2,
    );
    let entered!: () => void;
    const inside = new Promise<void>((r) => entered = r);
    const failing = locker.withLock("job", async () => {
      entered();
      await new Promise((r) => setTimeout(r, 50));
      throw new Error("boom");
    }, { patience: 600_000 });
    await inside;
    const next = other.lock("job", { patience: 600_000 });
    await assert.rejects(failing, /boom/);
    const lock = await within(next, 5000, "next user after a crash");
    await lock.release();
    const kinds = (await events).map((e) => `${e.number} ${e.kind}`);
    assert.deepEqual(kinds.slice(0, 2), ["1 assigned", "1 started"]);
    assert.ok(kinds.includes("1 crashed"), kinds.join(", "));
    assert.ok(kinds.indexOf("1 crashed") < kinds.indexOf("2 granted"));
  },
);

lockerTest(
  "a timeout rejects with TimeoutError naming resource and users ahead, and leaves",
  async (t) => {
    const locker = t.locker();
    const holder = await locker.lock("busy", { label: "holder" });
    const error = await within(
      locker.lock("busy", { timeout: 200 }).then(
        () => assert.fail("should time out"),
        (e) => e,
      ),
      5000,
      "timeout",
    );
    assert.ok(error instanceof TimeoutError);
    assert.ok(error instanceof TurnError);
    assert.equal(error.resource, "busy");
    assert.equal(error.ahead, 1);
    assert.match(error.message, /"busy": 1 user\(s\) still ahead/);
    const [status] = await locker.status(["busy"]);
    assert.deepEqual(status.users.map((u) => u.label), ["holder"]);
    await holder.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "an aborted wait rejects with the signal's reason and hands on a turn that just arrived",
  async (t) => {
    const locker = t.locker();
    const holder = await locker.lock("r", { label: "holder" });
    const controller = new AbortController();
    const aborted = locker.lock("r", {
      label: "quitter",
      signal: controller.signal,
    });
    const third = locker.lock("r", { label: "third" });
    await untilQueued(locker, "r", 3);
    // Release and abort together: the turn may reach the quitter as it leaves.
    const reason = new Error("no longer needed");
    await Promise.all([holder.release(), controller.abort(reason)]);
    await assert.rejects(aborted, (e) => e === reason);
    const lock = await within(third, 5000, "third gets the turn");
    assert.equal(lock.label, "third");
    await lock.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("an already aborted signal changes nothing", async (t) => {
  const locker = t.locker();
  await assert.rejects(
    locker.lock("r", { signal: AbortSignal.abort(new Error("stop")) }),
    /stop/,
  );
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest(
  "tryLock takes a number only if nobody holds or waits",
  async (t) => {
    const locker = t.locker();
    const first = await locker.tryLock("t");
    assert.ok(first);
    assert.equal(await locker.tryLock("t"), null);
    const [status] = await locker.status(["t"]);
    assert.equal(status.dispenser, 1, "a failed tryLock draws no number");
    await first.release();
    const again = await locker.tryLock("t");
    assert.ok(again);
    await again.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("release is idempotent and await using releases", async (t) => {
  const locker = t.locker();
  {
    await using lock = await locker.lock("u");
    assert.equal(lock.number, 1);
  }
  const lock = await locker.lock("u");
  await Promise.all([lock.release(), lock.release()]);
  await lock.release();
  assert.ok(lock.released);
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest(
  "a holder whose presence vanished sees its signal abort with LeaseLostError",
  async (t) => {
    const locker = t.locker();
    const lock = await locker.lock("lease", { expire: 300 });
    await t.removePresence("lease", lock.number);
    const reason = await leaseLost(lock);
    assert.ok(reason instanceof LeaseLostError);
    assert.equal(reason.resource, "lease");
    assert.equal(reason.number, lock.number);
    await lock.release();
  },
);

redisTest(
  "a holder cut off from Redis for longer than expire loses its lease",
  async (t) => {
    const locker = t.locker();
    const lock = await locker.lock("cut", { expire: 300 });
    t.server.process.kill("SIGSTOP");
    try {
      const reason = await within(
        new Promise((resolve) =>
          lock.signal.addEventListener(
            "abort",
            () => resolve(lock.signal.reason),
          )
        ),
        5000,
        "lease lost while Redis is stopped",
      );
      assert.ok(reason instanceof LeaseLostError);
      assert.match(String(reason), /no heartbeat reached Redis/);
    } finally {
      t.server.process.kill("SIGCONT");
    }
    await lock.release();
  },
);

redisTest(
  "a lost lease that is not released yet does not make the Locker spin",
  async (t) => {
    const locker = t.locker();
    const lock = await locker.lock("lost", { expire: 300 });
    const blocker = await t.locker().lock("busy");
    const waiting = locker.lock("busy", { timeout: 10_000 }).catch(() => {});
    await untilQueued(locker, "busy", 2);
    await t.redis.del("turn:lost:serial:1");
    await within(
      new Promise((resolve) =>
        lock.signal.addEventListener("abort", resolve, { once: true })
      ),
      5000,
      "lease lost",
    );
    const scripts = async () => {
      const info = await t.redis.info("commandstats");
      return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
    };
    const before = await scripts();
    // A rate, not an event: one heartbeat every expire / 3 polls the waiter
    // (about 10 a second); a past deadline re-armed at once made hundreds.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const calls = await scripts() - before;
    assert.ok(calls < 40, `${calls} scripts in one second`);
    await lock.release();
    await blocker.release();
    await within(waiting, 5000, "the waiter's turn");
  },
);

lockerTest(
  "a waiter whose presence lapsed draws again and says so",
  async (t) => {
    const locker = t.locker();
    const holder = await locker.lock("lapse", { label: "holder" });
    const { events } = await followUntil(
      locker,
      ["lapse"],
      (e) => e.kind === "assigned" && e.number === 3,
    );
    const waiter = locker.lock("lapse", { label: "waiter", expire: 300 });
    await untilQueued(locker, "lapse", 2);
    await t.removePresence("lapse", 2);
    const seen = await within(events, 5000, "redraw");
    assert.deepEqual(
      seen.slice(-2).map((e) => e.message),
      ["lapse: 2 lapsed", 'lapse: 3 assigned to "waiter"'],
    );
    await holder.release();
    const lock = await within(waiter, 5000, "waiter granted after redraw");
    assert.equal(lock.number, 3);
    await lock.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest("release skips users whose presence is gone", async (t) => {
  const locker = t.locker();
  const holder = await locker.lock("skip", { label: "holder" });
  const gone = locker.lock("skip", { label: "gone", expire: 60_000 });
  const next = locker.lock("skip", { label: "next" });
  await untilQueued(locker, "skip", 3);
  // Number 2 dies without a word (as if killed): its presence disappears.
  await t.removePresence("skip", 2);
  await holder.release();
  const lock = await within(next, 5000, "next skips the dead one");
  assert.equal(lock.label, "next");
  await lock.release();
  // The dead one's Locker finds it lapsed and draws again.
  await (await within(gone, 5000, "redrawn")).release();
});

redisTest(
  "one pub/sub connection per Locker, whatever the number of waits",
  async (t) => {
    const locker = t.locker();
    const holders = await Promise.all(
      ["a", "b", "c"].map((r) => locker.lock(r)),
    );
    const waits = ["a", "b", "c"].flatMap((r) =>
      [1, 2, 3].map(() => locker.lock(r))
    );
    await waitFor(
      async () =>
        (await locker.status()).reduce((n, s) => n + s.users.length, 0) === 12,
      "12 users queued",
    );
    const clientList = async () =>
      (await t.redis.client("LIST") as string).trim().split("\n");
    // Waiters subscribe right after drawing; wait until all three channels are.
    await waitFor(
      async () => (await clientList()).some((c) => / sub=3 /.test(c)),
      "subscribed to three channels",
    );
    const clients = await clientList();
    // The test's own inspection client, the Locker's command client and its
    // one subscriber.
    assert.equal(clients.length, 3, clients.join("\n"));
    assert.equal(clients.filter((c) => / sub=[1-9]/.test(c)).length, 1);
    await Promise.all(holders.map((h) => h.release()));
    for (const wait of waits) {
      await (await within(wait, 5000, "a waiter's turn")).release();
    }
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

lockerTest("close releases held turns and leaves queues", async (t) => {
  const locker = t.locker();
  const other = t.locker();
  await locker.lock("c", { label: "closing holder" });
  const waiting = locker.lock("c", { label: "closing waiter" });
  waiting.catch(() => {});
  const outside = other.lock("c", { label: "outsider" });
  await untilQueued(other, "c", 3);
  await locker.close();
  // Gone by the time close() returns, not when their presence would expire.
  const [queue] = await other.status(["c"]);
  assert.deepEqual(queue.users.map((u) => u.label), ["outsider"]);
  await assert.rejects(waiting, /closed while waiting/);
  const lock = await within(outside, 5000, "outsider served after close");
  await lock.release();
  assert.deepEqual(await t.leftovers(), []);
  await assert.rejects(locker.lock("c"), /the Locker is closed/);
});

lockerTest(
  "calls made while closing are refused or given back, and release after close is quiet",
  async (t) => {
    const locker = t.locker();
    await locker.status(); // connected, so the calls below race close() itself
    const held = await locker.lock("kept");
    const trying = locker.tryLock("tried");
    const locking = locker.lock("late");
    const closing = locker.close();
    for (const call of [trying, locking]) {
      await call.then(
        (lock) => assert.fail(`granted during close: ${lock?.resource}`),
        (error) => assert.match(String(error), /closed/),
      );
    }
    await closing;
    await held.release(); // close() released it already
    assert.throws(() => locker.follow(), /the Locker is closed/);
    await assert.rejects(locker.lock("after"), /the Locker is closed/);
    assert.deepEqual(await t.leftovers(), []);
  },
);

redisTest(
  "Lockers lent one client leave no listeners on it once closed",
  async (t) => {
    const counts = () =>
      ["error", "close", "ready"].map((e) => t.redis.listenerCount(e));
    await new Locker({ redis: t.redis }).close(); // the first one marks it
    const before = counts();
    for (let i = 0; i < 5; i++) {
      const locker = new Locker({ redis: t.redis });
      await (await locker.lock("lent")).release();
      await locker.close();
    }
    assert.deepEqual(counts(), before);
    assert.equal(t.redis.status, "ready"); // borrowed: never closed
  },
);

lockerTest("resource names with glob characters work everywhere", async (t) => {
  const locker = t.locker();
  const names = ["a*", "a?", "[a]", "a", "b:serial:1", "{x}"];
  const locks = await Promise.all(names.map((n) => locker.lock(n)));
  const status = await locker.status();
  assert.deepEqual(status.map((s) => s.resource), [...names].sort());
  for (const s of status) assert.equal(s.users.length, 1, s.resource);
  assert.deepEqual(
    (await locker.status(["a*"]))[0].users.map((u) => u.number),
    [1],
  );
  await Promise.all(locks.map((l) => l.release()));
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest("reset follows turn 1.0: missing, in use, reset", async (t) => {
  const locker = t.locker();
  assert.deepEqual(await locker.reset(["nothing"]), [
    { resource: "nothing", outcome: "missing", users: 0 },
  ]);
  const lock = await locker.lock("busy");
  assert.deepEqual(await locker.reset(["busy"]), [
    { resource: "busy", outcome: "in-use", users: 1 },
  ]);
  await lock.release();
  // A queue whose users all died: reset bumps past them and removes it.
  await t.setQueue("dead", { dispenser: 3, indicator: 2 });
  assert.deepEqual(await locker.reset(), [
    { resource: "dead", outcome: "reset", users: 0 },
  ]);
  assert.deepEqual(await t.leftovers(), []);
});

lockerTest("follow with no names sees resources created later", async (t) => {
  const locker = t.locker();
  const { events } = await followUntil(
    locker,
    undefined,
    (e) => e.resource === "new" && e.kind === "granted",
  );
  await locker.withLock("new", () => {});
  const seen = await within(events, 5000, "events of a new resource");
  assert.deepEqual(seen.map((e) => e.kind), [
    "assigned",
    "started",
    "completed",
    "granted",
  ]);
});

lockerTest("bad input gets a clear error and changes nothing", async (t) => {
  const locker = t.locker();
  const cases: [() => Promise<unknown>, RegExp][] = [
    [() => locker.lock(""), /resource must not be empty: got ""/],
    [
      () => locker.lock(42 as unknown as string),
      /resource must be a string: got 42/,
    ],
    [() => locker.lock("a\nb"), /resource must not contain control characters/],
    [() => locker.lock("\ud800"), /well-formed Unicode/],
    [() => locker.lock("x".repeat(5000)), /at most 1024 characters: got 5000/],
    [
      () => locker.lock("r", { expire: -5 }),
      /expire must be a positive number of milliseconds: got -5/,
    ],
    [
      () => locker.lock("r", { expire: 10 }),
      /expire must be at least 100 milliseconds: got 10/,
    ],
    [
      () => locker.lock("r", { timeout: Infinity }),
      /timeout must be a positive number of milliseconds: got Infinity/,
    ],
    [
      () => locker.lock("r", { patience: NaN }),
      /patience must be a positive number of milliseconds: got NaN/,
    ],
    [() => locker.lock("r", { label: "a\rb" }), /label must not contain/],
    [() => locker.status(["ok", ""]), /resource must not be empty/],
  ];
  for (const [call, message] of cases) {
    await assert.rejects(call, message);
  }
  assert.throws(
    () => new Locker({ url: "http://x" }),
    /url must start with redis:\/\/, rediss:\/\/ or file:\/\/: got "http:\/\/x"/,
  );
  assert.throws(
    () => new Locker({ url: "redis://:hunter2@" }),
    (e: Error) => !e.message.includes("hunter2"),
  );
  assert.throws(
    () => new Locker({ port: 70000 }),
    /port must be an integer from 1 to 65535: got 70000/,
  );
  assert.deepEqual(await t.leftovers(), []);
});

Deno.test("an unreachable Redis rejects with ConnectionError naming the address", async () => {
  const { freePort } = await import("../support/redis_server.ts");
  const port = freePort();
  await using locker = new Locker({ url: `redis://127.0.0.1:${port}/0` });
  const error = await within(
    locker.lock("r").catch((e) => e),
    10_000,
    "bounded connect",
  );
  assert.ok(error instanceof ConnectionError, String(error));
  assert.equal(error.address, `127.0.0.1:${port}`);
  assert.match(error.message, /ECONNREFUSED/);
});

Deno.test("a wrong password rejects with ConnectionError and never shows it", async () => {
  await using server = await startRedis({
    args: ["--requirepass", "right-secret"],
  });
  await using locker = new Locker({
    url: `redis://:wrong-secret@127.0.0.1:${server.port}/0`,
  });
  const error = await within(locker.lock("r").catch((e) => e), 10_000, "auth");
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(error.message, /WRONGPASS|invalid password/i);
  assert.ok(!error.message.includes("wrong-secret"));
  await using good = new Locker({
    url: `redis://:right-secret@127.0.0.1:${server.port}/0`,
  });
  await (await good.lock("r")).release();
});
