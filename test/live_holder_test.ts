/**
 * A live holder keeps its turn, however long it holds and however impatient
 * the waiters behind it are.
 */

import assert from "node:assert/strict";
import { lockerTest, untilQueued, within } from "./support/helpers.ts";
import type { Lock, Locker } from "../mod.ts";

/** Short, but long enough that a loaded machine's stalls do not lapse it. */
const EXPIRE = 1000;
/** Several times EXPIRE: the holder's presence is renewed many times. */
const HOLD_MS = 4 * EXPIRE;
const SAMPLE_MS = 50;

/** A wait that records whether it was granted, without a dangling rejection. */
function watchWait(waiting: Promise<Lock>): { granted: () => boolean } {
  let granted = false;
  waiting.then(() => granted = true, () => {});
  return { granted: () => granted };
}

/**
 * Samples the queue for `ms`: the holder keeps the indicator, its lease and
 * (on Redis) a presence whose TTL is refreshed, never past `expire`.
 */
async function holdsThroughout(
  observer: Locker,
  holder: Lock,
  waiter: { granted: () => boolean },
  ms: number,
): Promise<void> {
  const ttls: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const [queue] = await observer.status([holder.resource]);
    assert.equal(queue.indicator, holder.number, "the turn moved on");
    const ttl = queue.users.find((u) => u.number === holder.number)?.ttl;
    assert.ok(ttl !== undefined, "the holder's presence is gone");
    ttls.push(ttl);
    assert.equal(holder.signal.aborted, false, String(holder.signal.reason));
    assert.equal(waiter.granted(), false, "a waiter was granted");
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
  // File presences last as long as their process (ttl -1); Redis ones are
  // refreshed: never past expire, and seen high again after running low.
  if (ttls.every((ttl) => ttl === -1)) return;
  assert.ok(ttls.every((ttl) => ttl > 0 && ttl <= EXPIRE), ttls.join(" "));
  assert.ok(
    ttls.some((ttl, i) => i > 0 && ttl > ttls[i - 1]),
    `never refreshed: ${ttls.join(" ")}`,
  );
}

lockerTest(
  "a turn held for several times expire keeps its lease, its presence is refreshed, and no waiter is granted",
  async (t) => {
    const holder = await t.locker().lock("long", { expire: EXPIRE });
    const other = t.locker();
    const waiting = other.lock("long", { expire: EXPIRE });
    const waiter = watchWait(waiting);
    await untilQueued(other, "long", 2);
    await holdsThroughout(other, holder, waiter, HOLD_MS);
    await holder.release();
    const lock = await within(waiting, 5000, "the waiter's turn");
    assert.equal(lock.number, 2);
    await lock.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "impatient waiters bump, but never past a live holder that renews",
  async (t) => {
    const holder = await t.locker().lock("bumped", { expire: EXPIRE });
    const other = t.locker();
    // Both bump every 100 ms for lack of news: the one right behind the
    // holder and one further back.
    const waits = [1, 2].map(() =>
      other.lock("bumped", { expire: EXPIRE, patience: 100 })
    );
    const watched = waits.map(watchWait);
    await untilQueued(other, "bumped", 3);
    const anyGranted = { granted: () => watched.some((w) => w.granted()) };
    await holdsThroughout(other, holder, anyGranted, HOLD_MS);
    await holder.release();
    for (const [index, waiting] of waits.entries()) {
      const lock = await within(waiting, 5000, `waiter ${index}`);
      assert.equal(lock.number, 2 + index);
      await lock.release();
    }
    assert.deepEqual(await t.leftovers(), []);
  },
);
