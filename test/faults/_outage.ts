/**
 * The outage scenario shared by the Redis restart and pause tests: one user
 * holds a resource and five wait, each in its own process, while Redis goes
 * away and comes back. The witness lives on a second redis-server that the
 * fault never touches.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { allKeys, waitFor } from "../support/helpers.ts";
import { type RedisServer, startRedis } from "../../support/redis_server.ts";
import { mostInside, User, type UserConfig } from "./_users.ts";

/** What the fault needs to know and do. */
export interface Outage {
  /** The Redis turn uses (the one to hit). */
  readonly server: RedisServer;
  /** Users that give up during the outage (their timeout runs out). */
  readonly quitters: readonly User[];
}

/** Settings of one outage scenario. */
export interface OutageOptions {
  /** Extra redis-server arguments (kept across restarts). */
  readonly args?: readonly string[];
  /** Presence TTL of every user. */
  readonly expire: number;
  /** Timeout of the two users that should give up during the outage. */
  readonly quitterTimeout: number;
  /**
   * Hits Redis once every user is queued; resolves with the time Redis is
   * back and the server to use from then on.
   */
  readonly fault: (outage: Outage) => Promise<[number, RedisServer]>;
}

const RESOURCE = "printer";
const WAITERS = 3;

/** Runs the scenario; prints and returns the recovery time in ms. */
export async function outageScenario(
  name: string,
  options: OutageOptions,
): Promise<number> {
  const args = options.args ?? [];
  let server = await startRedis({ args });
  await using witnessServer = await startRedis();
  const witness = new Redis(witnessServer.url);
  const users: User[] = [];
  try {
    const user = (label: string, more: Partial<UserConfig> = {}) => {
      const config: UserConfig = {
        url: server.url,
        witnessUrl: witnessServer.url,
        resource: RESOURCE,
        label,
        expire: options.expire,
        ...more,
      };
      const spawned = new User(config);
      users.push(spawned);
      return spawned;
    };
    const queued = async (count: number) => {
      const probe = new Redis(server.url);
      try {
        await waitFor(
          async () => (await probe.keys("turn:*:serial:*")).length === count,
          `${count} users queued`,
          30_000,
        );
      } finally {
        probe.disconnect();
      }
    };
    const holder = user("holder");
    await holder.until("granted");
    const waiters = Array.from(
      { length: WAITERS },
      (_, i) => user(`waiter ${i + 1}`, { holdMs: 50, timeout: 60_000 }),
    );
    await queued(1 + WAITERS);
    const quitters = [1, 2].map((i) =>
      user(`quitter ${i}`, { timeout: options.quitterTimeout })
    );
    await queued(1 + WAITERS + quitters.length);

    const [backAt, after] = await options.fault({ server, quitters });
    server = after;

    const lost = await holder.until("lost");
    assert.equal(lost.name, "LeaseLostError", lost.message);
    for (const quitter of quitters) {
      const failed = await quitter.until("failed");
      assert.equal(failed.name, "TimeoutError", failed.message);
      assert.ok(
        failed.waited! >= options.quitterTimeout,
        `${quitter.label} gave up after ${failed.waited} ms`,
      );
      assert.ok(failed.at < backAt, `${quitter.label} did not wait for Redis`);
    }
    const grants = await Promise.all(waiters.map((w) => w.until("granted")));
    await Promise.all(users.map((u) => u.exit()));
    const firstGrant = Math.min(...grants.map((g) => g.at));
    const recovery = firstGrant - backAt;
    console.log(
      `${name}: holder lost its lease ${
        lost.at - backAt
      } ms after Redis was back; ` +
        `next grant ${recovery} ms after Redis was back; quitters waited ${
          quitters.map((q) => q.find("failed")!.waited).join(", ")
        } ms (timeout ${options.quitterTimeout} ms)`,
    );
    // Its presence could be gone from the moment Redis went away, and others
    // may be granted as soon as Redis is back: the holder must know by then.
    assert.ok(lost.at < backAt, "the holder knew before Redis was back");
    assert.equal(await mostInside(witness, RESOURCE), 1, "witness");
    const check = new Redis(server.url);
    try {
      assert.deepEqual(await allKeys(check), []);
    } finally {
      check.disconnect();
    }
    return recovery;
  } finally {
    await Promise.all(users.map((u) => u.kill()));
    witness.disconnect();
    await server.stop();
  }
}

/** Registers the outage scenario as a test. */
export function faultTest(name: string, options: OutageOptions): void {
  Deno.test({
    name,
    async fn() {
      await outageScenario(name, options);
    },
  });
}
