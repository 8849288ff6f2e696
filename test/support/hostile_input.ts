/**
 * Hostile resource names and labels, and a bystander resource that must
 * never be touched, for the API and CLI hostile-input tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { Lock, Locker, TurnEvent } from "../../mod.ts";
import { presenceKey, resourceKeys, tokenKey } from "../../src/redis/keys.ts";
import { untilQueued } from "./helpers.ts";

/** Names that are valid and must work as ordinary data. */
export const VALID_NAMES: readonly (readonly [what: string, name: string])[] = [
  ["a glob star", "*"],
  ["glob characters", "a*b?[c-d]\\"],
  ["the SCAN pattern itself", "turn:*:dispenser"],
  ["hash-tag braces", "{a}"],
  ["an empty hash tag", "{}"],
  ["reversed braces", "}a{"],
  ["the bystander's presence key suffix", "a:serial:1"],
  ["the bystander's token key suffix", "a:token:1"],
  ["the bystander's draw key prefix", "a:draw"],
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
export const VALID_LABELS: readonly string[] = [
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

export const INVALID_LABELS:
  readonly (readonly [label: unknown, rule: RegExp])[] = [
    ["a\nb", /^label must not contain control characters: got "a\\nb"$/],
    ["\x1b]0;pwned\x07", /^label must not contain control characters/],
    [
      "y".repeat(1 << 20),
      /^label must be at most 1024 characters: got 1048576$/,
    ],
    ["\ud800", /^label must be well-formed Unicode/],
    [42, /^label must be a string: got 42$/],
  ];

/** Long enough that no heartbeat or bump happens during a test. */
export const QUIET = { expire: 600_000, patience: 600_000 } as const;

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
  const events: TurnEvent[] = [];
  const holder: Lock = await holderLocker.lock("a", {
    ...QUIET,
    label: "bystander holder",
  });
  void waiterLocker.lock("a", { ...QUIET, label: "bystander waiter" })
    .catch(() => {});
  await untilQueued(holderLocker, "a", 2);
  // Nothing else exists yet, so the pattern finds only the waiter's draw key
  // (a draw granted at once keeps none).
  const draws = await redis.keys(`${names.drawPrefix}*`);
  assert.equal(draws.length, 1);
  const keys = [
    names.dispenser,
    names.indicator,
    presenceKey(names, 1),
    presenceKey(names, 2),
    tokenKey(names, 1),
    tokenKey(names, 2),
    ...draws,
  ];
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
  assert.deepEqual(before.values.slice(0, 4), [
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
