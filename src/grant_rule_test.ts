import assert from "node:assert/strict";
import {
  admitsNow,
  holderCount,
  NO_LIMIT,
  type QueuedTurn,
  type TurnKind,
} from "./grant_rule.ts";

function queue(kinds: string): QueuedTurn[] {
  // "ssx" = shared, shared, exclusive, numbered from 1
  return [...kinds].map((c, i) => ({
    number: i + 1,
    kind: c === "x" ? "exclusive" : "shared",
  }));
}

Deno.test("an empty queue has no holders", () => {
  assert.equal(holderCount([], 3), 0);
  assert.equal(holderCount([], NO_LIMIT), 0);
});

Deno.test("capacity N: the first N shared tickets hold", () => {
  assert.equal(holderCount(queue("ss"), 3), 2);
  assert.equal(holderCount(queue("sssss"), 3), 3);
  assert.equal(holderCount(queue("sssss"), 1), 1);
  assert.equal(holderCount(queue("sssss"), NO_LIMIT), 5);
});

Deno.test("an exclusive ticket at the head holds alone", () => {
  assert.equal(holderCount(queue("x"), 3), 1);
  assert.equal(holderCount(queue("xsss"), 3), 1);
  assert.equal(holderCount(queue("xx"), NO_LIMIT), 1);
});

Deno.test("a waiting exclusive ticket stops every later one", () => {
  assert.equal(holderCount(queue("ssxss"), NO_LIMIT), 2);
  assert.equal(holderCount(queue("sxs"), 5), 1);
});

Deno.test("holders are a head run, so places go in ticket order", () => {
  // Removing any ticket keeps every earlier holder a holder, and the new
  // holders are the next tickets in order, never a later one.
  let seed = 17;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let trial = 0; trial < 2000; trial++) {
    const length = 1 + (trial % 9);
    const q: QueuedTurn[] = Array.from({ length }, (_, i) => ({
      number: i + 1,
      kind: (random() < 0.25 ? "exclusive" : "shared") as TurnKind,
    }));
    const capacity = trial % 4;
    const before = holderCount(q, capacity);
    const gone = trial % length;
    const after = q.filter((_, i) => i !== gone);
    const holders = holderCount(after, capacity);
    const stillHolding = q.slice(0, before).filter((_, i) => i !== gone);
    assert.deepEqual(after.slice(0, stillHolding.length), stillHolding);
    assert.ok(holders >= stillHolding.length, `trial ${trial}`);
  }
});

Deno.test("tryLock's question: would a new ticket hold at once", () => {
  assert.equal(admitsNow([], 2, "exclusive"), true);
  assert.equal(admitsNow(queue("s"), 2, "shared"), true);
  assert.equal(admitsNow(queue("ss"), 2, "shared"), false);
  assert.equal(admitsNow(queue("s"), 2, "exclusive"), false);
  assert.equal(admitsNow(queue("x"), NO_LIMIT, "shared"), false);
  // Someone already waits: a newcomer never jumps them.
  assert.equal(admitsNow(queue("ssx"), NO_LIMIT, "shared"), false);
});
