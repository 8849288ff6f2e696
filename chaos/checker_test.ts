import assert from "node:assert/strict";
import { check, type Property } from "./checker.ts";
import type { ChaosEvent, RunSettings } from "./history.ts";

const REDIS: RunSettings = {
  seed: 1,
  seconds: 10,
  backend: "redis",
  workers: 2,
  resources: ["r0"],
};

/** A history from terse rows: [t, who, kind, fields]. */
function history(
  rows: [number, string, string, Record<string, unknown>?][],
  settings: RunSettings = REDIS,
): ChaosEvent[] {
  return [
    { t: 0, who: "chaos", kind: "run", settings },
    ...rows.map(([t, who, kind, fields]) =>
      ({ t, who, kind, op: 1, ...fields }) as ChaosEvent
    ),
  ];
}

const lock = (
  t: number,
  who: string,
  fields: Record<string, unknown> = {},
): [number, string, string, Record<string, unknown>][] => [
  [t, who, "op", { call: "lock", resources: ["r0"], expire: 1000, ...fields }],
  [t, who, "acquiring", { resource: "r0" }],
];

function properties(events: ChaosEvent[]): Property[] {
  return check(events).violations.map((v) => v.property);
}

Deno.test("a clean handover breaks no rule", () => {
  const events = history([
    ...lock(0, "a"),
    [1, "a", "queued", { resource: "r0" }],
    [2, "a", "granted", { resource: "r0", number: 1 }],
    ...lock(5, "b"),
    [6, "b", "queued", { resource: "r0" }],
    [10, "a", "step", { ok: true }],
    [20, "a", "leave", { ok: true }],
    [21, "a", "released"],
    [30, "b", "granted", { resource: "r0", number: 2 }],
    [40, "b", "leave", { ok: true }],
    [41, "b", "released"],
    [50, "chaos", "leftover", { items: [] }],
  ]);
  assert.deepEqual(check(events).violations, []);
});

Deno.test("a holder that reads its signal as held after another's grant breaks mutual exclusion", () => {
  const events = history([
    ...lock(0, "a"),
    [2, "a", "granted", { resource: "r0", number: 1 }],
    ...lock(3, "b"),
    [5, "b", "granted", { resource: "r0", number: 2 }],
    [20, "a", "step", { ok: true }],
  ]);
  assert.deepEqual(properties(events), ["mutual-exclusion"]);
});

Deno.test("the witness's overlap event breaks mutual exclusion", () => {
  const events = history([[9, "a", "overlap", { resource: "r0" }]]);
  assert.deepEqual(properties(events), ["mutual-exclusion"]);
});

Deno.test("a lease lost unseen until the release is a lost lease not signalled", () => {
  const events = history([
    ...lock(0, "a"),
    [2, "a", "granted", { resource: "r0", number: 1 }],
    [3, "a", "step", { ok: true }],
    ...lock(4, "b"),
    [5, "b", "granted", { resource: "r0", number: 1 }],
    [20, "a", "leave", { ok: true }],
    [21, "a", "released"],
  ]);
  assert.deepEqual(properties(events), ["lost-lease-unsignalled"]);
});

Deno.test("a holder that sees its lease lost before the next grant breaks nothing", () => {
  const events = history([
    ...lock(0, "a"),
    [2, "a", "granted", { resource: "r0", number: 1 }],
    [800, "a", "step", { ok: false }],
    [801, "a", "leave", { ok: false }],
    ...lock(4, "b"),
    [900, "b", "granted", { resource: "r0", number: 2 }],
  ]);
  assert.deepEqual(properties(events), []);
});

Deno.test("a holder frozen while Redis restarted empty is the documented gap, within its bounds", () => {
  // a holds with expire 5000 and is frozen from 100 to 2100; Redis is down
  // from 200 to 1200; b is granted at `grantedAt`; a looks at `lookAt`.
  const frozen = (grantedAt: number, lookAt: number) =>
    history([
      ...lock(0, "a", { expire: 5000 }),
      [2, "a", "granted", { resource: "r0", number: 1 }],
      [100, "chaos", "fault", { fault: "sigstop", target: "a", ms: 2000 }],
      [200, "chaos", "fault", { fault: "redis-kill", ms: 1000 }],
      [1200, "chaos", "redis-up"],
      ...lock(grantedAt - 5, "b"),
      [grantedAt, "b", "granted", { resource: "r0", number: 1 }],
      [2100, "chaos", "sigcont", { target: "a" }],
      [lookAt, "a", "step", { ok: true }],
      [lookAt + 1, "a", "overlap", { resource: "r0" }],
    ]);
  assert.deepEqual(properties(frozen(1300, 2120)), [
    "frozen-across-restart",
    "frozen-across-restart",
  ]);
  // Still held long after running again: not the gap.
  assert.deepEqual(properties(frozen(1300, 3500)), [
    "mutual-exclusion",
    "mutual-exclusion",
  ]);
  // b was granted while Redis still knew a: not the gap.
  assert.deepEqual(properties(frozen(150, 2120)), [
    "mutual-exclusion",
    "mutual-exclusion",
  ]);
});

Deno.test("a holder starved of CPU while Redis restarted empty is the same gap", () => {
  const events = history([
    ...lock(0, "a", { expire: 2000 }),
    [2, "a", "granted", { resource: "r0", number: 1 }],
    [100, "a", "lag", { ms: 700 }],
    [150, "chaos", "fault", { fault: "redis-kill", ms: 400 }],
    [550, "chaos", "redis-up"],
    ...lock(590, "b"),
    [600, "b", "granted", { resource: "r0", number: 1 }],
    [810, "a", "leave", { ok: true }],
    [811, "a", "released"],
  ]);
  assert.deepEqual(properties(events), ["frozen-across-restart"]);
});

Deno.test("a user granted after a later number broke FIFO", () => {
  const events = history([
    ...lock(0, "a"),
    [1, "a", "queued", { resource: "r0" }],
    ...lock(2, "b"),
    [50, "b", "granted", { resource: "r0", number: 3 }],
    [60, "b", "leave", { ok: true }],
    [61, "b", "released"],
    [100, "a", "granted", { resource: "r0", number: 2 }],
  ]);
  assert.deepEqual(properties(events), ["fifo"]);
});

Deno.test("numbers may restart after Redis lost its keys", () => {
  const events = history([
    ...lock(0, "a"),
    [1, "a", "queued", { resource: "r0" }],
    [10, "chaos", "fault", { fault: "redis-kill", ms: 100 }],
    [110, "chaos", "redis-up"],
    ...lock(120, "b"),
    [130, "b", "granted", { resource: "r0", number: 1 }],
    [140, "b", "leave", { ok: true }],
    [141, "b", "released"],
    [150, "a", "granted", { resource: "r0", number: 1 }],
  ]);
  assert.deepEqual(properties(events), []);
});

Deno.test("a waiter not granted while the turn is free breaks liveness", () => {
  const events = history([
    ...lock(0, "a"),
    [2, "a", "granted", { resource: "r0", number: 1 }],
    ...lock(50, "b"),
    [100, "a", "leave", { ok: true }],
    [101, "a", "released"],
    [3000, "b", "granted", { resource: "r0", number: 2 }],
  ]);
  assert.deepEqual(properties(events), ["liveness"]);
});

Deno.test("a killed holder may block its waiter for its expire, and no more", () => {
  const rows = (grantedAt: number) =>
    history([
      ...lock(0, "a", { expire: 1000 }),
      [2, "a", "granted", { resource: "r0", number: 1 }],
      ...lock(50, "b"),
      [100, "chaos", "fault", { fault: "sigkill", target: "a", ms: 500 }],
      [grantedAt, "b", "granted", { resource: "r0", number: 2 }],
    ]);
  assert.deepEqual(properties(rows(1500)), []);
  assert.deepEqual(properties(rows(4000)), ["liveness"]);
  const recovery = check(rows(1500)).recoveries[0];
  assert.equal(recovery.took, 1400);
});

Deno.test("a lost lease's presence may block for its expire after the loss, and no more", () => {
  const rows = (grantedAt: number) =>
    history([
      ...lock(0, "a", { expire: 1000 }),
      [2, "a", "granted", { resource: "r0", number: 1 }],
      ...lock(50, "b"),
      [100, "a", "step", { ok: false }],
      [101, "a", "leave", { ok: false }],
      [102, "a", "released"],
      [grantedAt, "b", "granted", { resource: "r0", number: 2 }],
    ]);
  assert.deepEqual(properties(rows(1100)), []);
  assert.deepEqual(properties(rows(3500)), ["liveness"]);
});

Deno.test("on the file backend a frozen holder blocks for as long as it is frozen", () => {
  const events = history([
    ...lock(0, "a", { expire: 500 }),
    [2, "a", "granted", { resource: "r0", number: 1 }],
    ...lock(50, "b"),
    [100, "chaos", "fault", { fault: "sigstop", target: "a", ms: 5000 }],
    [5100, "chaos", "sigcont", { target: "a" }],
    [5200, "a", "step", { ok: true }],
    [5300, "a", "leave", { ok: true }],
    [5301, "a", "released"],
    [5302, "b", "granted", { resource: "r0", number: 2 }],
  ], { ...REDIS, backend: "file" });
  assert.deepEqual(properties(events), []);
});

Deno.test("a waiter killed while starved never hears its lag: from its last beat to its death it may not have run", () => {
  const killed = (beats: number[]) =>
    history([
      [0, "a", "start", { pid: 1 }],
      ...lock(10, "a"),
      ...beats.map((t): [number, string, string] => [t, "a", "alive"]),
      [3000, "b", "alive"],
      [3000, "chaos", "fault", { fault: "sigkill", target: "a", ms: 500 }],
    ]);
  assert.deepEqual(properties(killed([])), []);
  assert.deepEqual(properties(killed([300])), []);
  assert.deepEqual(properties(killed([300, 2900])), ["liveness"]);
});

Deno.test("a user in the orchestrator (turn 1.0) lags with it", () => {
  const waited = (lagMs: number) =>
    history([
      [0, "t1.0", "op", { call: "turn1", resources: ["r0"], expire: 3000 }],
      [0, "t1.0", "acquiring", { resource: "r0" }],
      [100, "chaos", "lag", { ms: lagMs }],
      [2500, "t1.0", "failed", { error: "Turn1GaveUp", message: "crashed" }],
    ]);
  assert.deepEqual(properties(waited(600)), []);
  assert.deepEqual(properties(waited(50)), ["liveness"]);
});

Deno.test("a timeout that fires late or early is reported", () => {
  const timed = (failedAt: number) =>
    history([
      ...lock(0, "a", { timeout: 500 }),
      [failedAt, "a", "failed", { error: "TimeoutError", message: "late" }],
    ]);
  assert.deepEqual(properties(timed(600)), []);
  assert.deepEqual(properties(timed(2000)), ["timeout"]);
  assert.deepEqual(properties(timed(300)), ["timeout"]);
});

Deno.test("a release that fails after the grant does not count against the timeout", () => {
  const events = history([
    ...lock(0, "a", { timeout: 500 }),
    [10, "a", "granted", { resource: "r0", number: 1 }],
    [20, "a", "leave", { ok: true }],
    [3000, "a", "failed", { error: "ConnectionError", message: "release" }],
  ]);
  assert.deepEqual(properties(events), []);
});

Deno.test("time stopped does not count against a timeout", () => {
  const events = history([
    ...lock(0, "a", { timeout: 500 }),
    [100, "chaos", "fault", { fault: "sigstop", target: "a", ms: 3000 }],
    [3100, "chaos", "sigcont", { target: "a" }],
    [3200, "a", "failed", { error: "TimeoutError", message: "after a stop" }],
  ]);
  assert.deepEqual(properties(events), []);
});

Deno.test("time a process was starved of CPU does not count against a timeout", () => {
  const events = history([
    ...lock(0, "a", { timeout: 500 }),
    [100, "a", "lag", { ms: 1500 }],
    [2000, "a", "failed", { error: "TimeoutError", message: "starved" }],
  ]);
  assert.deepEqual(properties(events), []);
});

Deno.test("an abort that does not end the wait promptly is reported", () => {
  const events = history([
    ...lock(0, "a", { abortAfter: 200 }),
    [1500, "a", "failed", { error: "ChaosAbort", message: "aborted" }],
  ]);
  assert.deepEqual(properties(events), ["timeout"]);
});

Deno.test("an error class that is not turn's is reported", () => {
  const events = history([
    ...lock(0, "a"),
    [10, "a", "failed", {
      error: "MaxRetriesPerRequestError",
      message: "Reached the max retries per request limit",
    }],
  ]);
  assert.deepEqual(properties(events), ["foreign-error"]);
});

Deno.test("keys left behind, a hung worker, a crashed one and an unhandled rejection are reported", () => {
  const events = history([
    [10, "chaos", "hung", { target: "w0.0" }],
    [20, "w1.0", "exit", { code: 1, signal: null }],
    [25, "chaos", "unhandled", { message: "Error: Connection is closed." }],
    [30, "chaos", "leftover", { items: ["turn:r0:dispenser"] }],
  ]);
  assert.deepEqual(properties(events), ["exit", "exit", "exit", "leftover"]);
});

const shared = (
  t: number,
  who: string,
  fields: Record<string, unknown> = {},
) => lock(t, who, { capacity: 3, ...fields });

/** Holders `who` granted at `t` as `number`, reading their signal at `readAt`. */
const holds = (
  t: number,
  who: string,
  number: number,
  readAt: number,
): [number, string, string, Record<string, unknown>][] => [
  [t, who, "queued", { resource: "r0" }],
  [t + 1, who, "granted", { resource: "r0", number }],
  [readAt, who, "step", { ok: true }],
];

Deno.test("shared: up to the capacity hold together, and one more breaks it", () => {
  const rows = (users: number) =>
    history(
      ["a", "b", "c", "d"].slice(0, users).flatMap((who, i) => [
        ...shared(i * 10, who),
        ...holds(i * 10 + 1, who, i + 1, 500),
      ]),
    );
  assert.deepEqual(properties(rows(3)), []);
  assert.deepEqual(properties(rows(4)), ["capacity"]);
});

Deno.test("shared: readers with no limit overlap, a writer beside them breaks exclusion", () => {
  const readers = [
    ...lock(0, "a", { shared: true }),
    ...holds(1, "a", 1, 500),
    ...lock(10, "b", { shared: true }),
    ...holds(11, "b", 2, 500),
  ];
  assert.deepEqual(properties(history(readers)), []);
  const writer = [
    ...lock(20, "w", { shared: false }),
    ...holds(21, "w", 3, 600),
  ];
  assert.deepEqual(properties(history([...readers, ...writer])), [
    "mutual-exclusion",
    "mutual-exclusion",
  ]);
  // A plain turn beside a shared one breaks it too.
  const plain = [...lock(20, "p"), ...holds(21, "p", 3, 600)];
  assert.deepEqual(properties(history([...readers, ...plain])), [
    "mutual-exclusion",
    "mutual-exclusion",
  ]);
});

Deno.test("shared: a later number may learn of its grant first, within the slack", () => {
  const rows = (aGrantedAt: number) =>
    history([
      ...shared(0, "a", { capacity: 2 }),
      [1, "a", "queued", { resource: "r0" }],
      ...shared(2, "b", { capacity: 2 }),
      [3, "b", "queued", { resource: "r0" }],
      [50, "b", "granted", { resource: "r0", number: 2 }],
      [aGrantedAt, "a", "granted", { resource: "r0", number: 1 }],
    ]);
  assert.deepEqual(properties(rows(60)), []);
  // It also waited with a free place, beyond the slack.
  assert.deepEqual(properties(rows(3000)), ["liveness", "fifo"]);
});

Deno.test("shared: a dead holder's place goes to a waiter within its expire", () => {
  const rows = (grantedAt: number) =>
    history([
      ...shared(0, "a", { capacity: 2, expire: 1000 }),
      ...holds(1, "a", 1, 90),
      ...shared(5, "b", { capacity: 2 }),
      ...holds(6, "b", 2, 5000),
      ...shared(50, "c", { capacity: 2 }),
      [51, "c", "queued", { resource: "r0" }],
      [100, "chaos", "fault", { fault: "sigkill", target: "a" }],
      [grantedAt, "c", "granted", { resource: "r0", number: 3 }],
    ]);
  assert.deepEqual(properties(rows(1500)), []);
  // b still holds, so the resource is never free: only the free place tells.
  assert.deepEqual(properties(rows(4000)), ["liveness"]);
});

Deno.test("shared: a waiter with every place taken, or behind a writer, waits as long as it takes", () => {
  const full = history([
    ...shared(0, "a", { capacity: 2 }),
    ...holds(1, "a", 1, 9000),
    ...shared(5, "b", { capacity: 2 }),
    ...holds(6, "b", 2, 9000),
    ...shared(50, "c", { capacity: 2 }),
    [51, "c", "queued", { resource: "r0" }],
  ]);
  assert.deepEqual(properties(full), []);
  const behindWriter = history([
    ...lock(0, "r", { shared: true }),
    ...holds(1, "r", 1, 9000),
    ...lock(5, "w", { shared: false }),
    [6, "w", "queued", { resource: "r0" }],
    ...lock(50, "s", { shared: true }),
    [51, "s", "queued", { resource: "r0" }],
  ]);
  assert.deepEqual(properties(behindWriter), []);
});
