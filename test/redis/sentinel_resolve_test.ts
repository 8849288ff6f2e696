// ioredis gives a Sentinel client up for good ("end") when a sentinel
// announces a failover while the client, reconnecting, waits for a
// sentinel to say where the master is. Such a client must be connected
// again: a waiter whose Locker it serves is otherwise never served.
import assert from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { MASTER_NAME, startSentinelGroup } from "../support/redis_sentinel.ts";
import { untilQueued, within } from "../support/helpers.ts";

/** Short, so that the holder's presence, if it cannot leave, lapses soon. */
const EXPIRE_MS = 10_000;

Deno.test({
  name:
    "a waiter is served after a failover announced while its client asked a sentinel",
  async fn() {
    await using group = await startSentinelGroup();
    const options = { sentinels: group.addresses, name: MASTER_NAME };
    await using holderLocker = new Locker(options);
    await using waiterLocker = new Locker(options);
    const holder = await holderLocker.lock("desk", {
      label: "holder",
      expire: EXPIRE_MS,
    });
    // Its connection drops with the master, and the lease with it.
    holder.signal.addEventListener(
      "abort",
      () => void holder.release().catch(() => {}),
    );
    const waiting = waiterLocker.lock("desk", {
      label: "waiter",
      expire: EXPIRE_MS,
    });
    await untilQueued(holderLocker, "desk", 2);

    await group.crashWhileFirstSentinelPaused();
    // Longer than the holder's presence can outlive the failover.
    const lock = await within(waiting, 60_000, "the waiter served");
    assert.equal(lock.number, holder.number + 1);
    await lock.release();
  },
});
