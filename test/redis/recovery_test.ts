/**
 * How soon a waiter takes over from a holder that died: within the holder's
 * `expire` (plus slack for a loaded machine) on Redis, whatever the waiter's
 * own `expire`, its history, and whatever else its Locker holds or waits for.
 */

import assert from "node:assert/strict";
import {
  allKeys,
  lockerTest,
  redisTest,
  spawnHolder,
  untilListening,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";
import { turn1Lock } from "../../support/turn1_client.ts";
import type { Lock } from "../../mod.ts";

/** The holder's `expire` in these tests; waiters keep the default 60 s. */
const EXPIRE = 2000;
/** Slack for a loaded machine. Before the fixes, waiters took ~20 s. */
const SLACK = 3000;

/** Resolves with the lock and how long after `since` it came. */
async function grantedAfter(
  waiting: Promise<Lock>,
  since: number,
  what: string,
): Promise<{ lock: Lock; after: number }> {
  const lock = await within(waiting, EXPIRE + SLACK, what);
  return { lock, after: Date.now() - since };
}

redisTest(
  "a waiter whose Locker held a turn before notices a crashed turn 1.0 holder within the holder's expire",
  async (t) => {
    const locker = t.locker();
    // A turn held across a few heartbeats (every expire / 3) sets the
    // Locker's heartbeat clock, as in any Locker that has been used.
    const earlier = await locker.lock("earlier", { expire: 300 });
    await new Promise((resolve) => setTimeout(resolve, 350));
    await earlier.release();
    const python = await turn1Lock(t.server.port, "gpu", "python", 2);
    try {
      await within(python.started, 5000, "turn 1.0 holder started");
      const waiting = locker.lock("gpu", { patience: 600_000 });
      await untilQueued(locker, "gpu", 2);
      await untilListening(t.server.url, "gpu", 2);
      const crashedAt = Date.now();
      // turn 1.0 deletes its presence on an exception but leaves the indicator.
      await python.crash();
      const { lock, after } = await grantedAfter(
        waiting,
        crashedAt,
        "turn after turn 1.0 crashed",
      );
      console.log(`recovery after a turn 1.0 crash: ${after} ms`);
      await lock.release();
    } finally {
      python.close();
    }
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

for (const deadBehind of [0, 1]) {
  lockerTest(
    `a waiter notices the death of a holder that took the turn mid-wait (${deadBehind} dead waiter between)`,
    async (t) => {
      const first = await t.locker().lock("gpu", { label: "first" });
      const observer = t.locker();
      // The next holder, in another process, and perhaps a waiter behind it
      // that dies with it, so that no Locker right behind the holder lives.
      await using next = spawnHolder(t.url, "gpu", EXPIRE);
      await untilQueued(observer, "gpu", 2);
      const between = Array.from(
        { length: deadBehind },
        () => spawnHolder(t.url, "gpu", EXPIRE),
      );
      await untilQueued(observer, "gpu", 2 + deadBehind);
      const waiting = observer.lock("gpu", { label: "x", patience: 600_000 });
      await untilQueued(observer, "gpu", 3 + deadBehind);
      await untilListening(t.url, "gpu", 2 + deadBehind);
      await first.release();
      assert.equal(await within(next.held, 5000, "next holder granted"), 2);
      const killedAt = Date.now();
      await Promise.all([next, ...between].map((p) => p.kill()));
      const { lock, after } = await grantedAfter(
        waiting,
        killedAt,
        "turn after the new holder died",
      );
      console.log(
        `recovery after the turn moved on [${t.backend} ${t.mode}]: ${after} ms`,
      );
      assert.equal(lock.number, 3 + deadBehind);
      await lock.release();
      assert.deepEqual(await t.leftovers(), []);
    },
  );
}

for (const otherExpire of [300, 60_000]) {
  lockerTest(
    `a waiter's recovery does not depend on what else its Locker holds or waits for (their expire ${otherExpire} ms)`,
    async (t) => {
      const locker = t.locker();
      const blocker = await t.locker().lock("other-waited");
      const held = await locker.lock("other-held", { expire: otherExpire });
      const waitingElsewhere = locker.lock("other-waited", {
        expire: otherExpire,
      });
      await using holder = spawnHolder(t.url, "gpu", EXPIRE);
      assert.equal(await within(holder.held, 30_000, "holder started"), 1);
      const waiting = locker.lock("gpu", { patience: 600_000 });
      await untilQueued(locker, "gpu", 2);
      await untilQueued(locker, "other-waited", 2);
      const killedAt = Date.now();
      await holder.kill();
      const { lock, after } = await grantedAfter(
        waiting,
        killedAt,
        "turn after the kill",
      );
      console.log(
        `recovery beside other turns [${t.backend} ${t.mode}, ${otherExpire} ms]: ${after} ms`,
      );
      assert.ok(!held.signal.aborted, "the other turn is still held");
      await lock.release();
      await held.release();
      await blocker.release();
      await (await within(waitingElsewhere, 5000, "other wait")).release();
      assert.deepEqual(await t.leftovers(), []);
    },
  );
}

redisTest(
  "a waiter whose pub/sub connection was dropped is granted when the holder releases",
  async (t) => {
    const holder = await t.locker().lock("printer");
    const locker = t.locker();
    const waiting = locker.lock("printer", { patience: 600_000 });
    await untilQueued(locker, "printer", 2);
    await untilListening(t.server.url, "printer", 1);
    await t.redis.call("CLIENT", "KILL", "TYPE", "pubsub");
    // Released while the waiter's subscriber reconnects: the announcement
    // is lost, and only asking again after the reconnect finds the turn.
    await holder.release();
    const lock = await within(waiting, 5000, "turn after the release");
    assert.equal(lock.number, 2);
    await lock.release();
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest(
  "a dropped pub/sub connection is subscribed again once, by the Locker, which handles its failure (chaos F6)",
  async (t) => {
    // ioredis's own resubscription doubled the Locker's, and when the
    // connection closed before Redis answered it (close() right after a
    // reconnect), its rejection went unhandled and ended the process.
    const holder = await t.locker().lock("printer");
    const locker = t.locker();
    const waiting = locker.lock("printer", { patience: 600_000 });
    await untilQueued(locker, "printer", 2);
    await untilListening(t.server.url, "printer", 1);
    const channels = await t.redis.pubsub("CHANNELS", "turn:printer:*");
    const monitor = await t.redis.monitor();
    const subscribes: string[] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args[0].toLowerCase() === "subscribe") subscribes.push(args[1]);
    });
    try {
      await t.redis.call("CLIENT", "KILL", "TYPE", "pubsub");
      await untilListening(t.server.url, "printer", 1);
      await waitFor(
        () => Promise.resolve(subscribes.length > 0),
        "the resubscription seen",
      );
      // A second subscription would follow the first on its connection.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(subscribes, channels);
      assert.equal(subscribes.length, 1);
    } finally {
      monitor.disconnect();
    }
    await holder.release();
    await (await within(waiting, 5000, "the waiter's turn")).release();
  },
);
