import { deepStrictEqual } from "node:assert/strict";
import { COLOURED, PLAIN, renderWatch, WatchTimes } from "./watch.ts";
import type { TurnEvent } from "../../../mod.ts";

const START = Date.UTC(2026, 0, 2, 3, 4, 5);
const printer = {
  resource: "printer",
  indicator: 2,
  dispenser: 4,
  size: 3,
  users: [
    { number: 4, label: "late", ttl: 60_000 },
    { number: 2, label: "report 42", ttl: 60_000 },
    { number: 3, label: "early", ttl: 60_000 },
  ],
  fence: 0n,
};

function event(
  kind: TurnEvent["kind"],
  number: number,
  time: number,
): TurnEvent {
  return { resource: "printer", kind, number, time, message: "" };
}

Deno.test("renderWatch() shows users present at the start as held/waiting since at least then", () => {
  const times = new WatchTimes(START);
  times.observe(event("assigned", 4, START + 5_000));
  deepStrictEqual(renderWatch([printer], times, START + 65_000, PLAIN), [
    "turn status --watch, 2026-01-02T03:05:10Z",
    "",
    "printer",
    "  holding      2    >=1m05s  report 42",
    "  waiting      3    >=1m05s  early",
    "  waiting      4      1m00s  late",
  ]);
});

Deno.test("renderWatch() times a hold from the first granted or started event", () => {
  const times = new WatchTimes(START);
  times.observe(event("granted", 2, START + 1_000));
  times.observe(event("started", 2, START + 3_000));
  times.observe(event("assigned", 4, START + 2_000));
  times.observe(event("assigned", 4, START + 9_000));
  deepStrictEqual(
    renderWatch([printer], times, START + 12_000, PLAIN).slice(3),
    [
      "  holding      2        11s  report 42",
      "  waiting      3      >=12s  early",
      "  waiting      4        10s  late",
    ],
  );
});

Deno.test("renderWatch() marks a dead head (its user gone), and no queues", () => {
  const times = new WatchTimes(START);
  const stalled = {
    ...printer,
    indicator: 1,
    users: printer.users.slice(0, 1),
  };
  deepStrictEqual(renderWatch([stalled], times, START, PLAIN).slice(2), [
    "printer",
    "  gone         1             (gone: the next user skips it)",
    "  waiting      4       >=0s  late",
  ]);
  deepStrictEqual(renderWatch([], times, START, PLAIN), [
    "turn status --watch, 2026-01-02T03:04:05Z",
    "no queues",
  ]);
});

Deno.test("COLOURED styles names, holders and waiters; PLAIN adds nothing", () => {
  const times = new WatchTimes(START);
  const [, , title, holder, waiter] = renderWatch(
    [printer],
    times,
    START,
    COLOURED,
  );
  deepStrictEqual([title, holder.slice(0, 7), waiter.slice(0, 7)], [
    "\x1b[1mprinter\x1b[22m",
    "\x1b[32m  ",
    "\x1b[33m  ",
  ]);
  const plain = renderWatch([printer], times, START, PLAIN).join("\n");
  deepStrictEqual(plain.includes("\x1b"), false);
});

Deno.test("renderWatch() shows every holder of a shared resource and its places", () => {
  const times = new WatchTimes(START);
  const gpu = {
    resource: "gpu",
    indicator: 1,
    dispenser: 3,
    size: 3,
    users: [
      { number: 1, label: "a", ttl: 60_000, kind: "shared", holding: true },
      { number: 2, label: "b", ttl: 60_000, kind: "shared", holding: true },
      { number: 3, label: "c", ttl: 60_000, kind: "shared", holding: false },
    ] as const,
    places: { capacity: 2, holders: 2, placesLeft: 0 },
    fence: 0n,
  };
  deepStrictEqual(renderWatch([gpu], times, START + 5_000, PLAIN).slice(2), [
    "gpu",
    "  holding      1       >=5s  a",
    "  holding      2       >=5s  b",
    "  capacity 2: 2 holding, 0 places left",
    "  waiting      3       >=5s  c",
  ]);
});
