/**
 * Warm Lockers for the behaviour suite: one long-lived Locker per role,
 * shared by every warm test of a file, the way a server or a worker keeps one
 * Locker for its whole life. Before each test every role has held, waited,
 * crashed, timed out, been aborted and been refused a `tryLock`, on resources
 * of its own, so that what a Locker remembers from earlier turns is there
 * when the test runs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Locker, TimeoutError } from "../../mod.ts";
import type { LockerOptions } from "../../mod.ts";
import { untilQueued, within } from "./helpers.ts";

/** Warm Lockers kept per file; a test asking for more gets fresh ones. */
export const WARM_ROLES = 2;

/** Resources of the warm-up history start with this. */
export const WARM_PREFIX = "warm-up:";

const WAIT_BOUND_MS = 10_000;

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  return within(promise, WAIT_BOUND_MS, `warm-up: ${what}`);
}

/** A role's Locker; one the test closes is replaced before the next test. */
class RoleLocker extends Locker {
  closing = false;

  override close(): Promise<void> {
    this.closing = true;
    return super.close();
  }
}

/** The warm roles of one lock domain. */
export class WarmLockers {
  readonly #options: LockerOptions;
  readonly #roles: (RoleLocker | undefined)[] = [];
  #other: Locker | undefined;
  #round = 0;

  /** `options` say where the domain is (`{ url }`). */
  constructor(options: LockerOptions) {
    this.#options = options;
  }

  /** Replaces closed roles and gives every role one more round of history. */
  async warm(): Promise<void> {
    this.#other ??= new Locker(this.#options);
    const round = ++this.#round;
    for (let i = 0; i < WARM_ROLES; i++) {
      if (this.#roles[i]?.closing !== false) {
        this.#roles[i] = new RoleLocker(this.#options);
      }
    }
    await Promise.all(
      this.#roles.map((role, i) =>
        history(role!, this.#other!, `${WARM_PREFIX}${i}:${round}`)
      ),
    );
  }

  /** Role `index`'s Locker, or `undefined` past the warm roles. */
  role(index: number): Locker | undefined {
    return this.#roles[index];
  }

  /** Closes every role (a test failed or left turns behind). */
  async retire(): Promise<void> {
    await Promise.allSettled(this.#roles.map((role) => role?.close()));
  }

  /** Closes every Locker for good. */
  async close(): Promise<void> {
    await this.retire();
    await this.#other?.close();
  }
}

/**
 * One short history on resources named after `prefix`: a held turn with a
 * short expire, a wait that ends in a crash, a timeout, an abort and a
 * refused `tryLock`, with `other` as the user in the way.
 */
async function history(role: Locker, other: Locker, prefix: string) {
  const [held, waited, busy] = ["held", "waited", "busy"].map((r) =>
    `${prefix}:${r}`
  );
  await (await bounded(role.lock(held, { expire: 1500 }), "held")).release();

  const first = await bounded(other.lock(waited), "other holds");
  const waiting = role.lock(waited, { expire: 30_000 });
  await untilQueued(other, waited, 2);
  await first.release();
  await (await bounded(waiting, "waited")).release("crashed");

  const blocker = await bounded(other.lock(busy), "other holds");
  await assert.rejects(
    bounded(role.lock(busy, { timeout: 50 }), "timed out"),
    TimeoutError,
  );
  const controller = new AbortController();
  const aborted = role.lock(busy, { signal: controller.signal });
  await untilQueued(other, busy, 2);
  controller.abort(new Error("warm-up abort"));
  await assert.rejects(bounded(aborted, "aborted"), /warm-up abort/);
  assert.equal(await bounded(role.tryLock(busy), "tryLock"), null);
  await blocker.release();
}
