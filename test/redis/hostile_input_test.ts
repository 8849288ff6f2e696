/**
 * Resource names and labels are data, never code or patterns. Hostile values
 * go through every API call; each gets a correct result or a clear error, and
 * a bystander resource's state is never touched.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { Locker, TurnEvent } from "../../mod.ts";
import { allKeys, redisTest, within } from "../support/helpers.ts";
import {
  bystander,
  INVALID_LABELS,
  INVALID_NAMES,
  VALID_LABELS,
  VALID_NAMES,
} from "../support/hostile_input.ts";

redisTest(
  "hostile but valid resource names work through every API call and touch no other resource",
  async (t) => {
    const others = await bystander(t.redis, t.locker(), t.locker());
    const [first, second] = [t.locker(), t.locker()];
    const seen: TurnEvent[] = [];
    const everything = first.follow();
    await everything.ready;
    (async () => {
      for await (const event of everything) seen.push(event);
    })();
    for (const [what, name] of VALID_NAMES) {
      const context = `${what} (${JSON.stringify(name.slice(0, 40))})`;
      const follow = first.follow([name]);
      await follow.ready;
      const lock = await first.lock(name, { label: "holder" });
      assert.equal(lock.resource, name, context);
      assert.equal(await second.tryLock(name), null, context);
      const [status] = await first.status([name]);
      assert.equal(status.resource, name, context);
      assert.deepEqual(status.users.map((u) => u.label), ["holder"], context);
      const listed = (await first.status()).map((s) => s.resource);
      assert.deepEqual(listed, ["a", name].sort(), context);
      assert.deepEqual(await second.reset([name]), [
        { resource: name, outcome: "in-use", users: 1 },
      ], context);
      await lock.release();
      const events = [];
      for (let i = 0; i < 6; i++) events.push((await follow.next()).value!);
      await follow.return();
      assert.deepEqual(
        events.map((e) => [e.resource, e.kind, e.number, e.label ?? null]),
        [
          [name, "assigned", 1, "holder"],
          [name, "started", 1, null],
          [name, "reset", undefined, null],
          [name, "granted", 1, null],
          [name, "completed", 1, "holder"],
          [name, "granted", 2, null],
        ],
        context,
      );
      assert.equal(
        await second.withLock(name, (held) => held.resource),
        name,
        context,
      );
      await using both = await second.lockAll([name, "b"]);
      assert.deepEqual(
        both.locks.map((l) => l.resource),
        [name, "b"].sort(),
        context,
      );
      await both.release();
      assert.deepEqual(await first.reset([name]), [
        { resource: name, outcome: "missing", users: 0 },
      ], context);
      assert.deepEqual(
        await allKeys(t.redis),
        [...others.keys].sort(),
        context,
      );
      await others.check();
    }
    await everything.return();
    const resources = new Set(seen.map((e) => e.resource));
    assert.deepEqual(
      [...resources].sort(),
      [...VALID_NAMES.map(([, name]) => name), "b"].sort(),
    );
    assert.ok(seen.every((e) => e.kind !== "other"), "every message parsed");
  },
);

/** Every call a resource name goes through, with one name. */
const API_CALLS: readonly (readonly [
  string,
  (locker: Locker, name: never) => unknown,
])[] = [
  ["lock", (l, r) => l.lock(r)],
  ["tryLock", (l, r) => l.tryLock(r)],
  ["withLock", (l, r) => l.withLock(r, () => {})],
  ["lockAll", (l, r) => l.lockAll(["ok", r])],
  ["tryLockAll", (l, r) => l.tryLockAll(["ok", r])],
  ["status", (l, r) => l.status(["ok", r])],
  ["follow", (l, r) => l.follow(["ok", r])],
  ["reset", (l, r) => l.reset(["ok", r])],
];

/** Total commands the server has run, other than INFO (the probe itself). */
async function commandsSent(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  return [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)]
    .filter(([, name]) => name !== "info")
    .reduce((sum, [, , calls]) => sum + Number(calls), 0);
}

/** Runs `call`, sync or async, and returns what it threw. */
async function thrown(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

redisTest(
  "invalid resource names and labels are refused by every API call, stating the rule, with nothing sent",
  async (t) => {
    const others = await bystander(t.redis, t.locker(), t.locker());
    const locker = t.locker();
    const before = await commandsSent(t.redis);
    for (const [what, name, rule] of INVALID_NAMES) {
      for (const [call, run] of API_CALLS) {
        const error = await thrown(() => run(locker, name as never));
        const context = `${call} with ${what}`;
        assert.ok(
          error instanceof TypeError || error instanceof RangeError,
          `${context}: ${error}`,
        );
        assert.match(error.message, rule, context);
      }
    }
    for (const [label, rule] of INVALID_LABELS) {
      for (
        const run of [
          () => locker.lock("ok", { label } as never),
          () => locker.tryLock("ok", { label } as never),
          () => locker.withLock("ok", () => {}, { label } as never),
          () => locker.lockAll(["ok"], { label } as never),
        ]
      ) {
        const error = await thrown(run) as Error;
        assert.match(error.message, rule);
      }
    }
    for (const notAList of ["a", 42, null, { length: 1, 0: "a" }]) {
      const calls = [
        () => locker.status(notAList as never),
        () => locker.reset(notAList as never),
        () => locker.follow(notAList as never),
      ];
      for (const run of calls) {
        const error = await thrown(run);
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /^resources must be an array: got /);
      }
    }
    assert.equal(await commandsSent(t.redis), before, "commands were sent");
    await others.check();
  },
);

redisTest(
  "with hash tags, a name starting with } is refused as bad input by every API call, with nothing sent",
  async (t) => {
    const locker = t.locker({ hashTag: true });
    // Connected first, so a call that went on to Redis would be counted.
    await (await locker.lock("ok")).release();
    const before = await commandsSent(t.redis);
    for (const [call, run] of API_CALLS) {
      const error = await thrown(() => run(locker, "}x" as never));
      assert.ok(error instanceof RangeError, `${call}: ${error}`);
      assert.match(error.message, /must not start with "}".*: got "}x"/, call);
    }
    assert.equal(await commandsSent(t.redis), before, "commands were sent");
  },
);

redisTest(
  "hostile labels come back unchanged from status and follow",
  async (t) => {
    const others = await bystander(t.redis, t.locker(), t.locker());
    const locker = t.locker();
    for (const label of VALID_LABELS) {
      const follow = locker.follow(["labels"]);
      await follow.ready;
      const lock = await locker.lock("labels", { label });
      assert.deepEqual(
        (await locker.status(["labels"]))[0].users.map((u) => u.label),
        [label],
      );
      await lock.release();
      const assigned = await within(follow.next(), 5000, "assigned");
      await follow.next();
      const completed = await within(follow.next(), 5000, "completed");
      await follow.return();
      assert.deepEqual(
        [assigned.value?.kind, assigned.value?.label],
        ["assigned", label],
      );
      assert.deepEqual(
        [completed.value?.kind, completed.value?.label],
        ["completed", label],
      );
    }
    await others.check();
  },
);
