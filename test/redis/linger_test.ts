/**
 * A Locker's wake channels linger after their last waiter there is granted:
 * its next wait on the resource subscribes nothing and needs no poll, a
 * grant that arrives before the draw's reply is kept, and the channels are
 * dropped when idle, when too many linger, and at close. Every grant goes
 * through a witness that fails the test if two users ever hold at once.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { Lock, Locker, LockerOptions } from "../../mod.ts";
import { resourceKeys } from "../../src/redis/keys.ts";
import { type LingerLimits, WAKE_LINGER } from "../../src/redis/channels.ts";
import { behindProxy } from "../support/reply_dropping_proxy.ts";
import {
  deafen,
  redisTest,
  type RedisTestContext,
  spawnHolder,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";

const QUIET = { patience: 600_000 };

/** Fails when a second user is granted while another still holds. */
class Witness {
  #holder: string | undefined;

  async granted(who: string, waiting: Promise<Lock>): Promise<Lock> {
    const lock = await within(waiting, 10_000, `${who} granted`);
    assert.equal(this.#holder, undefined, `${who} granted while held`);
    this.#holder = who;
    return lock;
  }

  async release(who: string, lock: Lock): Promise<void> {
    assert.equal(this.#holder, who);
    this.#holder = undefined;
    await lock.release();
  }
}

/** Options of a Locker whose wake channels linger within `limits`. */
function lingering(limits: LingerLimits): LockerOptions {
  return { [WAKE_LINGER]: limits } as LockerOptions;
}

/** Calls of `command` so far, from INFO commandstats. */
async function calls(redis: Redis, command: string): Promise<number> {
  const info = await redis.info("commandstats");
  const line = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m");
  return Number(line.exec(info)?.[1] ?? 0);
}

/** The wake channels subscribed on `resource`, sorted. */
async function wakeChannels(redis: Redis, resource: string): Promise<string[]> {
  const pattern = `${resourceKeys(resource).wakePrefix}*`;
  return (await redis.pubsub("CHANNELS", pattern) as string[]).sort();
}

/**
 * `waiter` waits for `resource` behind a turn of `holder`'s, and takes its
 * turn once the holder releases.
 */
async function waitBehind(
  witness: Witness,
  holder: Locker,
  waiter: Locker,
  resource: string,
): Promise<void> {
  const held = await witness.granted("holder", holder.lock(resource));
  const waiting = waiter.lock(resource, QUIET);
  await untilQueued(holder, resource, 2);
  await witness.release("holder", held);
  await witness.release("waiter", await witness.granted("waiter", waiting));
}

redisTest(
  "a Locker waiting again and again on one resource subscribes its wake channel once, and its grants unsubscribe nothing",
  async (t) => {
    const witness = new Witness();
    const [holder, waiter] = [t.locker(), t.locker()];
    const [subscribes, unsubscribes] = [
      await calls(t.redis, "subscribe"),
      await calls(t.redis, "unsubscribe"),
    ];
    for (let round = 0; round < 5; round++) {
      await waitBehind(witness, holder, waiter, "r");
    }
    assert.equal(await calls(t.redis, "subscribe") - subscribes, 1);
    assert.equal(await calls(t.redis, "unsubscribe") - unsubscribes, 0);
    assert.equal((await wakeChannels(t.redis, "r")).length, 1, "it lingers");
  },
);

redisTest(
  "uncontended turns subscribe nothing, on a Locker whose wake channel lingers too",
  async (t) => {
    const witness = new Witness();
    const [holder, locker] = [t.locker(), t.locker()];
    await waitBehind(witness, holder, locker, "r");
    const subscribes = await calls(t.redis, "subscribe");
    for (let i = 0; i < 50; i++) {
      await (await locker.lock(`free:${i}`)).release();
      await (await t.locker().lock(`free:${i}`)).release();
    }
    await (await locker.lock("r")).release();
    assert.equal(await calls(t.redis, "subscribe"), subscribes);
    assert.deepEqual(
      await t.redis.pubsub("CHANNELS", "turn:free:*"),
      [],
    );
  },
);

/**
 * A waiter behind a proxy whose wake channel on "r" lingers (within
 * `limits`, if given), and its next draw, which Redis has run while its
 * reply is held back (until `proxy.resume()`) behind the turn `held` of
 * another Locker. `before` runs just before that turn is taken.
 */
async function drawHeldBack(
  t: RedisTestContext,
  limits?: LingerLimits,
  before: (waiter: Locker, holder: Locker) => Promise<void> = async () => {},
) {
  const behind = await behindProxy(t, limits ? lingering(limits) : {});
  const { proxy, locker: waiter } = behind;
  const holder = t.locker();
  const witness = new Witness();
  // Its wake channel lingers, live before the next draw.
  await waitBehind(witness, holder, waiter, "r");
  await before(waiter, holder);
  const held = await witness.granted("holder", holder.lock("r"));
  // Only the waiter's draw carries its label.
  const label = "waiter-draws-now";
  const drawn = proxy.holdReplyTo(label);
  const waiting = waiter.lock("r", { ...QUIET, label });
  await within(drawn, 10_000, "the waiter's draw ran");
  return {
    proxy,
    waiter,
    witness,
    held,
    waiting,
    [Symbol.asyncDispose]: () => behind[Symbol.asyncDispose](),
  };
}

redisTest(
  "a grant heard before its draw's reply is kept, and taken without a poll",
  async (t) => {
    await using drawing = await drawHeldBack(t);
    const { proxy, witness, held, waiting } = drawing;
    const granted = proxy.passed(`${resourceKeys("r").wakePrefix}`);
    await witness.release("holder", held);
    await within(granted, 10_000, "the grant passed to the waiter");
    // Not needed for the outcome: gives the waiter's process the time to
    // read the grant before the draw's reply, the case under test.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const scripts = await calls(t.redis, "evalsha");
    proxy.resume();
    const lock = await witness.granted("waiter", waiting);
    assert.equal(lock.number, 2);
    assert.equal(await calls(t.redis, "evalsha"), scripts, "no poll");
    await witness.release("waiter", lock);
  },
);

redisTest(
  "a grant lost while the subscriber was away during the draw reaches the waiter",
  async (t) => {
    await using drawing = await drawHeldBack(t);
    const { proxy, witness, held, waiting } = drawing;
    // The channel was live before the draw, but the grant goes out while
    // the subscriber is shut out: the waiter asks as soon as the draw's
    // reply comes (its first check, a little later, would find it too).
    const letBack = await deafen(t.redis);
    try {
      await witness.release("holder", held);
    } finally {
      await letBack();
    }
    await waitFor(
      async () => (await wakeChannels(t.redis, "r")).length === 1,
      "the lingering channel subscribed again",
    );
    proxy.resume();
    await witness.release("waiter", await witness.granted("waiter", waiting));
  },
);

redisTest(
  "lingering wake channels are dropped once idle, and at close",
  async (t) => {
    const witness = new Witness();
    const holder = t.locker();
    const brief = t.locker(lingering({ idleMs: 200, max: 100 }));
    await waitBehind(witness, holder, brief, "r");
    await waitFor(
      async () => (await wakeChannels(t.redis, "r")).length === 0,
      "the idle channel dropped",
    );
    // Waiting again subscribes again.
    await waitBehind(witness, holder, brief, "r");

    const lasting = t.locker();
    await waitBehind(witness, holder, lasting, "s");
    assert.equal((await wakeChannels(t.redis, "s")).length, 1, "it lingers");
    await lasting.close();
    await brief.close();
    await waitFor(
      async () => (await t.redis.pubsub("CHANNELS")).length === 0,
      "no channel left subscribed",
    );
  },
);

redisTest(
  "at most `max` wake channels linger: the least recently used goes",
  async (t) => {
    const witness = new Witness();
    const holder = t.locker();
    const waiter = t.locker(lingering({ idleMs: 600_000, max: 2 }));
    for (const resource of ["a", "b", "a", "c"]) {
      await waitBehind(witness, holder, waiter, resource);
    }
    const lingered = async () =>
      (await t.redis.pubsub("CHANNELS", "turn:*:wake:*") as string[])
        .map((channel) => channel.split(":")[1]).sort().join(",");
    await waitFor(async () => await lingered() === "a,c", "b evicted");
  },
);

redisTest(
  "a waiter whose wake channel lingered notices a killed holder within the holder's expire",
  async (t) => {
    const expire = 2000;
    const witness = new Witness();
    const waiter = t.locker();
    await waitBehind(witness, t.locker(), waiter, "gpu");
    await using holder = spawnHolder(t.server.url, "gpu", expire);
    await within(holder.held, 30_000, "the holder's turn");
    // Its own expire is 60 s: its heartbeat is 20 s away.
    const waiting = waiter.lock("gpu", QUIET);
    await untilQueued(waiter, "gpu", 2);
    await holder.kill();
    const lock = await within(waiting, expire + 3000, "the waiter's turn");
    await lock.release();
  },
);

redisTest(
  "a lingering wake channel is subscribed again after the subscriber reconnects",
  async (t) => {
    const witness = new Witness();
    const [holder, waiter] = [t.locker(), t.locker()];
    await waitBehind(witness, holder, waiter, "r");
    const [channel] = await wakeChannels(t.redis, "r");
    await t.redis.call("CLIENT", "KILL", "TYPE", "pubsub");
    await waitFor(
      async () => (await wakeChannels(t.redis, "r"))[0] === channel,
      "the channel subscribed again",
    );
    await waitBehind(witness, holder, waiter, "r");
  },
);

/**
 * Resolves once every command `locker`'s subscriber sent before this call
 * has been run by Redis: a new subscription on that one connection answers
 * after them. Aborting the returned controller ends it.
 */
async function subscriberCaughtUp(locker: Locker): Promise<AbortController> {
  const stop = new AbortController();
  const follow = locker.follow(["barrier"], { signal: stop.signal });
  await within(follow.ready, 10_000, "the barrier subscribed");
  return stop;
}

/** The drawing waiter's channel is still subscribed; its grant reaches it. */
async function grantReachesJoined(
  t: RedisTestContext,
  drawing: Awaited<ReturnType<typeof drawHeldBack>>,
  unsubscribes: number,
): Promise<void> {
  const { proxy, waiter, witness, held, waiting } = drawing;
  const barrier = await subscriberCaughtUp(waiter);
  assert.equal(
    await calls(t.redis, "unsubscribe"),
    unsubscribes,
    "no channel dropped",
  );
  assert.equal((await wakeChannels(t.redis, "r")).length, 1, "still live");
  barrier.abort();
  await witness.release("holder", held);
  proxy.resume();
  await witness.release("waiter", await witness.granted("waiter", waiting));
}

redisTest(
  "a lingering channel that a drawing waiter has joined is not the one evicted when another starts to linger",
  async (t) => {
    const other = new Witness();
    let heldB: Lock | undefined;
    let waitingB: Promise<Lock> | undefined;
    // At most one lingers: "b" starts to, while the waiter draws on "r".
    await using drawing = await drawHeldBack(
      t,
      { idleMs: 600_000, max: 1 },
      async (waiter, holder) => {
        heldB = await other.granted("holder", holder.lock("b"));
        waitingB = waiter.lock("b", QUIET);
        await untilQueued(holder, "b", 2);
        await waitFor(
          async () => (await wakeChannels(t.redis, "b")).length === 1,
          "the waiter listens on b",
        );
      },
    );
    const unsubscribes = await calls(t.redis, "unsubscribe");
    await other.release("holder", heldB!);
    // Its grant comes as a message: the held-back connection is not needed.
    const lockB = await other.granted("waiter", waitingB!);
    await grantReachesJoined(t, drawing, unsubscribes);
    await other.release("waiter", lockB);
  },
);

redisTest(
  "a lingering channel that a drawing waiter has joined is not swept as idle",
  async (t) => {
    const idleMs = 1_000;
    await using drawing = await drawHeldBack(t, { idleMs, max: 100 });
    const unsubscribes = await calls(t.redis, "unsubscribe");
    // Past the time an idle channel is swept (idleMs, up to half as late).
    await new Promise((resolve) => setTimeout(resolve, 2 * idleMs));
    await grantReachesJoined(t, drawing, unsubscribes);
  },
);
