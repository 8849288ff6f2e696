/**
 * Resource names and labels are data, never code or patterns. Hostile values
 * go through every API call; each gets a correct result or a clear error, and
 * a bystander resource's state is never touched.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { Lock, Locker, TurnEvent } from "../mod.ts";
import { presenceKey, resourceKeys } from "../src/protocol.ts";
import { allKeys, redisTest, untilQueued, within } from "./_helpers.ts";

/** Names that are valid and must work as ordinary data. */
export const VALID_NAMES: readonly (readonly [what: string, name: string])[] = [
  ["a glob star", "*"],
  ["glob characters", "a*b?[c-d]\\"],
  ["the SCAN pattern itself", "turn:*:dispenser"],
  ["hash-tag braces", "{a}"],
  ["an empty hash tag", "{}"],
  ["reversed braces", "}a{"],
  ["the bystander's presence key suffix", "a:serial:1"],
  ["the bystander's dispenser suffix", "a:dispenser"],
  ["the bystander's indicator suffix", "a:indicator"],
  ["the bystander's presence prefix", "a:serial"],
  ["the bystander's channel suffix", "a:external"],
  ["a leading colon", ":a"],
  ["a trailing colon", "a:"],
  ["__proto__", "__proto__"],
  ["constructor", "constructor"],
  ["quotes", `"a" 'b'`],
  ["Lua", "') redis.call('FLUSHALL') --"],
  ["format strings", "%s %d ${x} {0}"],
  ["a space", " "],
  ["non-ASCII", "🖨️ Drucker ü"],
  ["a leading dash", "-x"],
  ["1024 characters", "x".repeat(1024)],
  ["1024 UTF-16 units of emoji", "🖨".repeat(512)],
];

/** Names that must be refused, with the rule the message must state. */
export const INVALID_NAMES: readonly (readonly [
  what: string,
  name: unknown,
  rule: RegExp,
])[] = [
  ["empty", "", /^resource must not be empty: got ""$/],
  [
    "a newline",
    "a\nb",
    /^resource must not contain control characters: got "a\\nb"$/,
  ],
  ["a carriage return", "a\rb", /control characters: got "a\\rb"$/],
  ["a NUL", "a\0b", /control characters: got "a\\u0000b"$/],
  ["a terminal escape", "\x1b[31m", /control characters: got "\\u001b\[31m"$/],
  ["DEL", "a\x7f", /control characters/],
  [
    "1 MB",
    "x".repeat(1 << 20),
    /^resource must be at most 1024 characters: got 1048576$/,
  ],
  ["1025 characters", "x".repeat(1025), /at most 1024 characters: got 1025$/],
  [
    "a lone high surrogate",
    "a\ud800b",
    /^resource must be well-formed Unicode \(no lone surrogates\)/,
  ],
  ["a lone low surrogate", "\udc00", /well-formed Unicode/],
  ["a number", 42, /^resource must be a string: got 42$/],
  ["null", null, /^resource must be a string: got null$/],
  ["undefined", undefined, /^resource must be a string: got undefined$/],
  ["an object", { toString: () => "a" }, /^resource must be a string/],
  ["an array", ["a"], /^resource must be a string: got a$/],
  ["a symbol", Symbol("a"), /^resource must be a string: got Symbol\(a\)$/],
  ["a prototype-less object", Object.create(null), /got object$/],
];

/** Labels that are valid and must come back unchanged. */
const VALID_LABELS: readonly string[] = [
  "",
  'say "hi"',
  '" started',
  "1 completed by ",
  "') redis.call('FLUSHALL') --",
  "*?[]{}",
  "__proto__",
  "🖨️ ü",
  "y".repeat(1024),
];

const INVALID_LABELS: readonly (readonly [label: unknown, rule: RegExp])[] = [
  ["a\nb", /^label must not contain control characters: got "a\\nb"$/],
  ["\x1b]0;pwned\x07", /^label must not contain control characters/],
  ["y".repeat(1 << 20), /^label must be at most 1024 characters: got 1048576$/],
  ["\ud800", /^label must be well-formed Unicode/],
  [42, /^label must be a string: got 42$/],
];

/** Long enough that no heartbeat or bump happens during a test. */
const QUIET = { expire: 600_000, patience: 600_000 } as const;

/**
 * Resource "a" with a holder and a waiter, watched: its keys' values and
 * expiries, the messages on its channel, and the holder's lease.
 */
export interface Bystander {
  /** Fails if anything about "a" changed since it was set up. */
  check(): Promise<void>;
  /** The keys "a" uses. */
  readonly keys: readonly string[];
}

/** Sets up {@linkcode Bystander} "a" with two lockers of its own. */
export async function bystander(
  redis: Redis,
  holderLocker: Locker,
  waiterLocker: Locker,
): Promise<Bystander> {
  const names = resourceKeys("a");
  const keys = [
    names.dispenser,
    names.indicator,
    presenceKey(names, 1),
    presenceKey(names, 2),
  ];
  const events: TurnEvent[] = [];
  const holder: Lock = await holderLocker.lock("a", {
    ...QUIET,
    label: "bystander holder",
  });
  void waiterLocker.lock("a", { ...QUIET, label: "bystander waiter" })
    .catch(() => {});
  await untilQueued(holderLocker, "a", 2);
  const follow = holderLocker.follow(["a"]);
  await follow.ready;
  (async () => {
    for await (const event of follow) events.push(event);
  })();
  const snapshot = async () => {
    const values = await redis.mget(...keys);
    const expiring = await Promise.all(
      keys.map(async (key) => (await redis.pttl(key)) > 0),
    );
    return { values, expiring };
  };
  const before = await snapshot();
  assert.deepEqual(before.values, [
    "2",
    "1",
    "bystander holder",
    "bystander waiter",
  ]);
  return {
    keys,
    async check() {
      assert.deepEqual(
        await snapshot(),
        before,
        "the bystander's keys changed",
      );
      assert.deepEqual(events, [], "the bystander's channel carried messages");
      assert.equal(
        holder.signal.aborted,
        false,
        "the bystander lost its lease",
      );
    },
  };
}

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
