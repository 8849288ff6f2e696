// A script runs in Redis, but its reply is lost with the connection; ioredis
// reconnects and sends the same script again (autoResendUnfulfilledCommands,
// on by default). Every script must do its work once: a release sent again
// after the queue restarted must not end the turn of a user with the same
// label and number, and a draw sent again must not leave a ghost number that
// its own user then waits behind (issue 12).
import assert from "node:assert/strict";
import {
  allKeys,
  redisTest,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";
import { presenceKey, resourceKeys, tokenKey } from "../../src/redis/keys.ts";
import { behindProxy } from "../support/reply_dropping_proxy.ts";

const LABEL = "app";
const keys = resourceKeys("r");

redisTest(
  "a release sent again after the queue restarted leaves the new holder with the same label and number alone",
  async (t) => {
    await using behind = await behindProxy(t);
    const { proxy, locker: proxied } = behind;
    const first = await proxied.lock("r", { label: LABEL });
    assert.equal(first.number, 1);
    // Among the scripts, only a release carries an outcome.
    const dropped = proxy.dropReplyTo("completed");
    const releasing = first.release();
    await within(dropped, 10_000, "the release's reply dropped");
    // It ran: the queue emptied. Before it is sent again, numbering starts
    // over and a user with the same label draws number 1 again.
    assert.deepEqual(await allKeys(t.redis), []);
    const others = t.locker();
    const again = await others.lock("r", { label: LABEL });
    assert.equal(again.number, 1);
    const token = await t.redis.get(tokenKey(keys, 1));
    const next = others.lock("r", { label: LABEL, timeout: 30_000 });
    next.catch(() => {});
    await untilQueued(others, "r", 2);

    proxy.resume();
    await within(releasing, 10_000, "the release sent again answered");
    assert.equal(await t.redis.get(keys.indicator), "1", "turn handed on");
    assert.equal(await t.redis.get(presenceKey(keys, 1)), LABEL);
    assert.equal(await t.redis.get(tokenKey(keys, 1)), token);
    assert.equal(again.signal.aborted, false);

    await again.release();
    const lock = await within(next, 10_000, "the next user's turn");
    assert.equal(lock.number, 2);
    await lock.release();
    await waitFor(async () => (await allKeys(t.redis)).length === 0, "no keys");
  },
);

redisTest(
  "a waiter's leave sent again un-draws nothing of the user who drew its number since",
  async (t) => {
    await using behind = await behindProxy(t);
    const { proxy, locker: proxied } = behind;
    const others = t.locker();
    const holder = await others.lock("r", { label: "holder" });
    const controller = new AbortController();
    const waiting = proxied.lock("r", {
      label: LABEL,
      signal: controller.signal,
    });
    waiting.catch(() => {});
    await untilQueued(others, "r", 2);
    // The newest waiter gives up: its leave gives number 2 back.
    const dropped = proxy.dropReplyTo("left");
    controller.abort();
    await within(dropped, 10_000, "the leave's reply dropped");
    await assert.rejects(waiting);
    assert.equal(await t.redis.get(keys.dispenser), "1");
    // A user with the same label draws number 2 again.
    const twin = others.lock("r", { label: LABEL, timeout: 30_000 });
    twin.catch(() => {});
    await untilQueued(others, "r", 2);
    const token = await t.redis.get(tokenKey(keys, 2));

    proxy.resume();
    // Closing waits for the leave, sent again, to be answered.
    await within(proxied.close(), 10_000, "the leave sent again answered");
    assert.equal(await t.redis.get(keys.dispenser), "2", "number un-drawn");
    assert.equal(await t.redis.get(presenceKey(keys, 2)), LABEL);
    assert.equal(await t.redis.get(tokenKey(keys, 2)), token);

    await holder.release();
    const lock = await within(twin, 10_000, "the twin's turn");
    assert.equal(lock.number, 2);
    await lock.release();
    await waitFor(async () => (await allKeys(t.redis)).length === 0, "no keys");
  },
);

for (const tryOnly of [false, true]) {
  const call = tryOnly ? "tryLock" : "lock";
  redisTest(
    `${call}: a draw sent again gets the number it drew, not a second one behind it`,
    async (t) => {
      await using behind = await behindProxy(t);
      const { proxy, locker: proxied } = behind;
      // The label is in the draw's arguments only.
      const dropped = proxy.dropReplyTo("draw-me");
      const options = { label: "draw-me" };
      const locking = tryOnly
        ? proxied.tryLock("r", options)
        : proxied.lock("r", options);
      await within(dropped, 10_000, "the draw's reply dropped");
      assert.equal(await t.redis.get(keys.dispenser), "1", "it ran");
      proxy.resume();
      const lock = await within(locking, 10_000, "the draw sent again");
      assert.ok(lock, "tryLock found the resource busy with its own draw");
      assert.equal(lock.number, 1);
      assert.equal(await t.redis.get(keys.dispenser), "1", "a ghost number");
      await lock.release();
      await waitFor(
        async () => (await allKeys(t.redis)).length === 0,
        "no keys",
      );
    },
  );
}
