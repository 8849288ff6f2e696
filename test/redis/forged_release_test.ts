/**
 * A client that did not draw a number cannot release, renew or bump someone
 * else's turn out of order: the scripts check the presence value (the
 * label) and liveness, not just the number a caller names. Forged
 * announcements only make waiters ask Redis again.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Lock, TurnEvent } from "../../mod.ts";
import {
  BUMP,
  commonArgs,
  POLL,
  RELEASE,
  RENEW,
  RESET,
  type Script,
} from "../../src/redis/scripts.ts";
import {
  drawKey,
  grantProof,
  newDrawToken,
  presenceKey,
  resourceKeys,
  tokenKey,
} from "../../src/redis/keys.ts";
import { runScript } from "../../src/redis/eval.ts";
import { redisTest, untilQueued, waitFor, within } from "../support/helpers.ts";

const KEYS = resourceKeys("r");

redisTest(
  "forged releases, renewals, polls, bumps and announcements by a client that did not draw change nothing",
  async (t) => {
    const quiet = { expire: 600_000, patience: 600_000 };
    const holder: Lock = await t.locker().lock("r", { ...quiet, label: "A" });
    let granted: string | undefined;
    const waiters: Promise<Lock>[] = [];
    for (const label of ["B", "C"]) {
      const waiter = t.locker().lock("r", { ...quiet, label });
      waiter.then(() => granted ??= label, () => {});
      waiters.push(waiter);
      // One at a time, so that B draws 2 and C draws 3.
      await untilQueued(t.locker(), "r", waiters.length + 1);
    }
    const keys = [1, 2, 3].map((n) => presenceKey(KEYS, n));
    const state = async () => ({
      counters: await t.redis.mget(KEYS.dispenser, KEYS.indicator),
      presences: await t.redis.mget(...keys),
      tokens: await t.redis.mget(...[1, 2, 3].map((n) => tokenKey(KEYS, n))),
      // Alive, and not renewed beyond the owner's own expire.
      ttls: await Promise.all(keys.map(async (key) => {
        const ttl = await t.redis.pttl(key);
        return ttl > 0 && ttl <= quiet.expire;
      })),
    });
    const before = await state();
    assert.deepEqual(before.counters, ["3", "1"]);
    assert.deepEqual(before.presences, ["A", "B", "C"]);
    // Each token key: the draw token, then the label its presence holds.
    before.tokens.forEach((value, index) => {
      assert.match(value ?? "", /^[0-9a-f]{32}/);
      assert.equal(value?.slice(32), before.presences[index]);
    });

    const events: TurnEvent[] = [];
    const follow = t.locker().follow(["r"]);
    await follow.ready;
    const collecting = (async () => {
      for await (const event of follow) events.push(event);
    })();

    // A stranger knows every number and label, but not the draw tokens.
    const stranger = newDrawToken();
    const forge = (script: Script, args: (string | number)[], n?: number) =>
      runScript(t.redis, {
        script,
        keys: [
          KEYS.dispenser,
          KEYS.indicator,
          ...(n === undefined ? [] : [
            presenceKey(KEYS, n),
            tokenKey(KEYS, n),
            drawKey(KEYS, stranger),
          ]),
        ],
        args: [
          ...commonArgs(KEYS),
          ...args,
          ...(n === undefined ? [] : [stranger]),
        ],
      });
    // The holder's number, a waiter's, the newest, and one never drawn; each
    // with a label that is not its owner's (a stranger's, the empty one, the
    // other users' own labels) and with its owner's own label: without the
    // owner's draw token, it is still a stranger.
    const owners = ["A", "B", "C"];
    for (const n of [1, 2, 3, 4]) {
      const labels = ["mallory", "", ...owners];
      for (const label of labels) {
        for (const outcome of ["completed", "crashed", "left"]) {
          const reply = await forge(RELEASE, [n, label, outcome, 0], n);
          assert.equal((reply as number[])[0], 0, `release ${n} as holder`);
        }
        assert.equal(await forge(RENEW, [n, label, 10 * quiet.expire], n), 0);
        assert.deepEqual(await forge(POLL, [n, label, 60_000, 0], n), [-1]);
      }
    }
    // Bumps may only skip numbers whose presence is gone, whatever they name.
    for (const skip of [0, 1, 2, 3]) {
      assert.equal(await forge(BUMP, [skip, 0]), 1, `bump skipping ${skip}`);
    }
    assert.deepEqual(await forge(RESET, []), ["in-use", 3]);

    // Announcements are only hints, and grants need the draw's proof: a
    // forged grant on a waiter's wake channel changes nothing, forged hints
    // make waiters ask Redis, whose scripts see the holder alive.
    const polls = async () => {
      const info = await t.redis.info("commandstats");
      return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
    };
    const asked = await polls();
    const wakes = await t.redis.pubsub(
      "CHANNELS",
      `${KEYS.wakePrefix}*`,
    ) as string[];
    assert.equal(wakes.length, 2, "one wake channel per waiting Locker");
    const fence = String(BigInt(Date.now()) * 1000n + 10n ** 9n);
    for (const n of [2, 3, 4]) {
      await t.redis.publish(KEYS.internal, presenceKey(KEYS, n));
      for (const wake of wakes) {
        // A stranger's token, and the other users' (not n's own, which the
        // stranger does not know): their proofs, and tokens in their place.
        const others = before.tokens.filter((_, index) => index !== n - 1)
          .map((value) => String(value).slice(0, 32));
        for (const token of [stranger, ...others]) {
          await t.redis.publish(wake, `${n} ${grantProof(token)} ${fence}`);
          await t.redis.publish(wake, `${n} ${token} ${fence}`);
        }
        await t.redis.publish(wake, `${n} watch`);
        await t.redis.publish(wake, `${n} skipped`);
      }
    }
    await t.redis.publish(KEYS.internal, "garbage");
    await waitFor(
      async () => (await polls()) >= asked + 2,
      "both waiters asked Redis after the forged hints",
    );

    assert.deepEqual(await state(), before, "the queue changed");
    assert.equal(granted, undefined, "a waiter was granted out of order");
    assert.equal(holder.signal.aborted, false, "the holder lost its lease");
    // The forgeries said nothing that announces a change of turn.
    for (const event of events) {
      assert.ok(
        ["granted", "lapsed", "reset"].includes(event.kind),
        event.message,
      );
      if (event.kind === "granted") assert.equal(event.number, 1);
    }

    // The real holder still hands over, in order.
    await holder.release();
    const next = await within(waiters[0], 10_000, "B's turn");
    assert.equal(next.label, "B");
    await next.release();
    await (await within(waiters[1], 10_000, "C's turn")).release();
    await follow.return();
    await collecting;
  },
);
