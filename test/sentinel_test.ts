// The Locker through Redis Sentinel: one master, one replica, three
// sentinels, all started here. The master fails over while one user holds a
// resource and four wait; the figures printed say what held during failover.
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Locker } from "../mod.ts";
import type { Lock } from "../mod.ts";
import { MASTER_NAME, startSentinelGroup } from "./redis_sentinel.ts";
import { startRedis } from "./redis_server.ts";
import { untilQueued, waitFor, within } from "./_helpers.ts";

const EXPIRE = 3_000;
const RESOURCE = "ledger";

Deno.test({
  name: "Sentinel failover while a turn is held and four users wait",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const started = Date.now();
    await using group = await startSentinelGroup();
    const setupMs = Date.now() - started;
    // The witness lives outside the failing-over pair, so failover cannot lose it.
    await using witnessServer = await startRedis();
    const witness = new Redis(witnessServer.port, "127.0.0.1");
    const lockers: Locker[] = [];
    const locker = () => {
      const l = new Locker({ sentinels: group.addresses, name: MASTER_NAME });
      lockers.push(l);
      return l;
    };
    try {
      const holderLocker = locker();
      const holder = await holderLocker.lock(RESOURCE, {
        expire: EXPIRE,
        label: "holder",
      });
      let most = await witness.incr("inside");
      const granted: number[] = [];
      const leasesLost: number[] = [];
      const waiters = [1, 2, 3, 4].map((i) =>
        locker().withLock(RESOURCE, async (lock: Lock) => {
          most = Math.max(most, await witness.incr("inside"));
          granted.push(lock.number);
          if (lock.signal.aborted) leasesLost.push(lock.number);
          await witness.decr("inside");
        }, { expire: EXPIRE, label: `waiter ${i}` })
      );
      // Failures are asserted below; none may go unhandled meanwhile.
      const outcomes = Promise.allSettled(waiters);
      await untilQueued(holderLocker, RESOURCE, 5);

      const oldMaster = await group.masterPort();
      const failoverStarted = Date.now();
      await group.failover();
      const failoverMs = Date.now() - failoverStarted;
      assert.notEqual(await group.masterPort(), oldMaster);
      // The queue survived on the new master: five live users, holder first.
      await waitFor(async () => {
        try {
          const [status] = await holderLocker.status([RESOURCE]);
          return status?.users.length === 5;
        } catch {
          return false; // still reconnecting through the sentinels
        }
      }, "the queue read back from the new master");
      const reconnectMs = Date.now() - failoverStarted;
      const [status] = await holderLocker.status([RESOURCE]);
      assert.equal(status.indicator, holder.number);
      assert.equal(status.users[0].label, "holder");
      assert.deepEqual(status.users.map((u) => u.label).sort(), [
        "holder",
        "waiter 1",
        "waiter 2",
        "waiter 3",
        "waiter 4",
      ]);
      const holderKeptLease = !holder.signal.aborted;

      await witness.decr("inside");
      const released = Date.now();
      await holder.release();
      const settled = await within(outcomes, 30_000, "every waiter done");
      assert.deepEqual(settled.filter((o) => o.status === "rejected"), []);
      const drainMs = Date.now() - released;
      assert.equal(most, 1, "two users held the turn at once");
      assert.deepEqual(granted, [2, 3, 4, 5]);
      assert.deepEqual(leasesLost, []);
      await Promise.all(lockers.map((l) => l.close()));
      const newMaster = new Redis(await group.masterPort(), "127.0.0.1");
      assert.notEqual(newMaster.options.port, oldMaster);
      assert.deepEqual(await newMaster.keys("turn:*"), []);
      newMaster.disconnect();
      console.log(
        `sentinel group ready in ${setupMs} ms; failover took ${failoverMs} ms; ` +
          `queue readable ${reconnectMs} ms after it began; holder kept its lease: ${holderKeptLease}; ` +
          `4 waiters served in ${drainMs} ms after release; test took ${
            Date.now() - started
          } ms`,
      );
    } finally {
      await Promise.allSettled(lockers.map((l) => l.close()));
      witness.disconnect();
    }
  },
});
