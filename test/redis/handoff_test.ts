/**
 * The hand-over from one user to the next, where pub/sub can fail it: a
 * grant whose message never arrives, announcements that arrive twice (or
 * are forged), and a turn 1.0 holder handing over to waiters of this module.
 * Every grant goes through a witness that fails the test if two users ever
 * hold at once.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { Lock } from "../../mod.ts";
import { turn1Lock } from "../../support/turn1_client.ts";
import {
  allKeys,
  deafen,
  redisTest,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";

/** Fails when a second user is granted while another still holds. */
class Witness {
  #holder: string | undefined;
  readonly order: string[] = [];

  enter(who: string): void {
    assert.equal(
      this.#holder,
      undefined,
      `${who} granted while ${this.#holder} holds`,
    );
    this.#holder = who;
    this.order.push(who);
  }

  leave(who: string): void {
    assert.equal(this.#holder, who);
    this.#holder = undefined;
  }

  /** The lock of `who`, entered into the witness once granted. */
  async granted(who: string, waiting: Promise<Lock>): Promise<Lock> {
    const lock = await waiting;
    this.enter(who);
    return lock;
  }

  async release(who: string, lock: Lock): Promise<void> {
    this.leave(who);
    await lock.release();
  }
}

/**
 * Waits until `count` pub/sub connections have subscribed to something,
 * then for the round trip a waiter makes right after subscribing, whatever
 * the channels are.
 */
async function untilSubscribed(redis: Redis, count: number): Promise<void> {
  await waitFor(async () => {
    const list = await redis.call("CLIENT", "LIST", "TYPE", "pubsub");
    const subscribed = String(list).split("\n").filter((line) =>
      /\bsub=[1-9]/.test(line) || /\bssub=[1-9]/.test(line)
    );
    return subscribed.length >= count;
  }, `${count} subscribed connection(s)`);
  await new Promise((resolve) => setTimeout(resolve, 300));
}

for (
  const [how, expire] of [
    ["its heartbeat", 3_000],
    ["its subscriber's reconnect", 600_000],
  ] as const
) {
  redisTest(
    `a grant whose message is lost reaches its waiter through ${how}`,
    async (t) => {
      const witness = new Witness();
      const a = await witness.granted("A", t.locker().lock("r", { expire }));
      const waitingB = witness.granted(
        "B",
        t.locker().lock("r", { expire, patience: 600_000 }),
      );
      await untilQueued(t.locker(), "r", 2);
      await untilSubscribed(t.redis, 1);
      const letBack = await deafen(t.redis);
      try {
        await witness.release("A", a);
        if (expire === 600_000) {
          // The heartbeat is 200 s away: only the reconnect can help.
          await new Promise((resolve) => setTimeout(resolve, 300));
          await letBack();
        }
        // With expire 3 s, the heartbeat polls every second while the
        // subscriber is still shut out.
        const b = await within(waitingB, 10_000, "B granted");
        assert.equal(b.number, 2);
        await witness.release("B", b);
      } finally {
        await letBack();
      }
      assert.deepEqual(witness.order, ["A", "B"]);
      assert.deepEqual(await allKeys(t.redis), []);
    },
  );
}

redisTest(
  "announcements heard twice, or replayed to later users of the same numbers, grant nobody out of turn",
  async (t) => {
    const quiet = { patience: 600_000 };
    const witness = new Witness();
    const lockers = [t.locker(), t.locker(), t.locker()];
    const heard: [string, string][] = [];
    const tap = t.redis.duplicate();
    tap.on("pmessage", (_p: string, channel: string, payload: string) => {
      heard.push([channel, payload]);
    });
    await tap.psubscribe("turn:r:*");
    /** One turn each, in the lockers' order: numbers 1, 2 and 3. */
    const round = async (names: string[], replay?: () => Promise<void>) => {
      const waiting: Promise<Lock>[] = [];
      for (const [index, name] of names.entries()) {
        waiting.push(witness.granted(name, lockers[index].lock("r", quiet)));
        await untilQueued(lockers[0], "r", index + 1);
      }
      await replay?.();
      for (const [index, name] of names.entries()) {
        const lock = await within(waiting[index], 5_000, `${name} granted`);
        assert.equal(lock.number, index + 1);
        await witness.release(name, lock);
      }
    };
    try {
      await round(["A", "B", "C"]);
      await waitFor(
        () => Promise.resolve(heard.some(([, p]) => p.endsWith(": 4 granted"))),
        "the last grant heard",
      );
      const replay = heard.splice(0);
      // The queue emptied, so the same lockers draw the same numbers again.
      // Every announcement of the first round comes twice more while A2
      // holds; a wrong grant would trip the witness.
      await round(["A2", "B2", "C2"], async () => {
        for (let again = 0; again < 2; again++) {
          for (const [channel, payload] of replay) {
            await t.redis.publish(channel, payload);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.equal(await t.redis.get("turn:r:indicator"), "1");
      });
    } finally {
      tap.disconnect();
    }
    assert.deepEqual(witness.order, ["A", "B", "C", "A2", "B2", "C2"]);
  },
);

redisTest(
  "forged grants on every channel a waiter listens to grant nobody",
  async (t) => {
    const quiet = { patience: 600_000 };
    const witness = new Witness();
    const a = await witness.granted("A", t.locker().lock("r", quiet));
    const waitingB = witness.granted("B", t.locker().lock("r", quiet));
    await untilQueued(t.locker(), "r", 2);
    await untilSubscribed(t.redis, 1);
    const channels = await t.redis.pubsub("CHANNELS", "turn:r:*") as string[];
    assert.ok(channels.length > 0, "the waiter listens on no channel");
    const fence = String(BigInt(Date.now()) * 1000n + 10n ** 9n);
    const forgeries = [
      "turn:r:serial:2",
      `2 ${"0".repeat(40)} ${fence}`,
      `2 ${"f".repeat(40)} ${fence}`,
      `2 ${fence}`,
      "2 watch",
      "2",
      "garbage",
    ];
    for (const channel of channels) {
      for (const payload of forgeries) await t.redis.publish(channel, payload);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await t.redis.get("turn:r:indicator"), "1");
    assert.equal(a.signal.aborted, false, "the holder lost its lease");
    await witness.release("A", a);
    await witness.release("B", await within(waitingB, 5_000, "B granted"));
    assert.deepEqual(witness.order, ["A", "B"]);
  },
);

redisTest(
  "a turn 1.0 holder's release wakes this module's next waiter, and the queue goes on in order",
  async (t) => {
    const witness = new Witness();
    const port = t.server.port;
    const quiet = { patience: 600_000 };
    // 1: this module, holding. 2: turn 1.0. 3, 4: this module.
    const a = await witness.granted("A", t.locker().lock("r", quiet));
    const python = await turn1Lock(port, "r", "python");
    assert.equal(python.number, 2);
    const waitingB = witness.granted("B", t.locker().lock("r", quiet));
    await untilQueued(t.locker(), "r", 3);
    const waitingC = witness.granted("C", t.locker().lock("r", quiet));
    await untilQueued(t.locker(), "r", 4);
    try {
      await witness.release("A", a);
      await within(python.started, 5_000, "turn 1.0 started");
      witness.enter("python");
      await new Promise((resolve) => setTimeout(resolve, 200));
      witness.leave("python");
      await python.complete();
      const b = await within(waitingB, 5_000, "B granted after turn 1.0");
      assert.equal(b.number, 3);
      await witness.release("B", b);
      const c = await within(waitingC, 5_000, "C granted");
      await witness.release("C", c);
    } finally {
      python.close();
    }
    assert.deepEqual(witness.order, ["A", "python", "B", "C"]);
  },
);

redisTest(
  "waiters that drew behind a turn 1.0 holder are woken by its release",
  async (t) => {
    const witness = new Witness();
    const python = await turn1Lock(t.server.port, "r", "python");
    await within(python.started, 5_000, "turn 1.0 started");
    witness.enter("python");
    const quiet = { patience: 600_000 };
    const waitingB = witness.granted("B", t.locker().lock("r", quiet));
    await untilQueued(t.locker(), "r", 2);
    const waitingC = witness.granted("C", t.locker().lock("r", quiet));
    await untilQueued(t.locker(), "r", 3);
    await untilSubscribed(t.redis, 3);
    try {
      witness.leave("python");
      await python.complete();
      const b = await within(waitingB, 5_000, "B granted after turn 1.0");
      assert.equal(b.number, 2);
      await witness.release("B", b);
      await witness.release("C", await within(waitingC, 5_000, "C granted"));
    } finally {
      python.close();
    }
    assert.deepEqual(witness.order, ["python", "B", "C"]);
  },
);

redisTest(
  "waiters hear the internal channel only behind a turn 1.0 holder, or to follow their place",
  async (t) => {
    const quiet = { patience: 600_000 };
    const listeners = async () => {
      const [, count] = await t.redis.pubsub("NUMSUB", "turn:r:internal") as [
        string,
        number,
      ];
      return Number(count);
    };
    const witness = new Witness();
    const a = await witness.granted("A", t.locker().lock("r", quiet));
    const waitingB = witness.granted("B", t.locker().lock("r", quiet));
    await untilQueued(t.locker(), "r", 2);
    await untilSubscribed(t.redis, 1);
    // B waits for its grant on its Locker's wake channel alone.
    assert.equal(await listeners(), 0);
    const places: number[] = [];
    const waitingC = witness.granted(
      "C",
      t.locker().lock("r", {
        ...quiet,
        onQueue: (ahead) => places.push(ahead),
      }),
    );
    await waitFor(async () => await listeners() === 1, "C hears internal");
    await witness.release("A", a);
    await witness.release("B", await within(waitingB, 5_000, "B granted"));
    await witness.release("C", await within(waitingC, 5_000, "C granted"));
    // C was told its place after drawing and after the first hand-over.
    assert.deepEqual(places.slice(0, 2), [2, 1]);
    // Behind a turn 1.0 holder, a waiter listens where it hands over.
    const python = await turn1Lock(t.server.port, "r", "python");
    try {
      await within(python.started, 5_000, "turn 1.0 started");
      witness.enter("python");
      const waitingD = witness.granted("D", t.locker().lock("r", quiet));
      await waitFor(async () => await listeners() === 2, "D hears internal");
      witness.leave("python");
      await python.complete();
      await witness.release("D", await within(waitingD, 5_000, "D granted"));
    } finally {
      python.close();
    }
    assert.deepEqual(witness.order, ["A", "B", "C", "python", "D"]);
  },
);
