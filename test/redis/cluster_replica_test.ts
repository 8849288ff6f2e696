// A Redis Cluster node leaving ends only the leases whose keys it served: a
// replica of the very master that holds them, or a master of other slots,
// leaves, and the lease stays (every held lease was lost before). A master
// that dies with the keys ends them: cluster_test.ts.
import assert from "node:assert/strict";
import type { Cluster, Redis } from "ioredis";
import { Locker } from "../../mod.ts";
import { keySlot } from "../../src/redis/cluster_nodes.ts";
import { startCluster } from "../support/redis_cluster.ts";
import { waitFor, within } from "../support/helpers.ts";

/** Asks `client` to learn the cluster's slots and nodes again. */
function refresh(client: Cluster): Promise<void> {
  return new Promise((resolve, reject) =>
    client.refreshSlotsCache((error) => error ? reject(error) : resolve())
  );
}

function port(node: Redis): number | undefined {
  return node.options.port;
}

Deno.test({
  name:
    "Redis Cluster: a replica of the master serving a held lease leaves, and the lease stays",
  async fn() {
    await using cluster = await startCluster(3);
    const slot = await cluster.slotOf("turn:{ledger}:x");
    const replica = await cluster.addReplica(await cluster.ownerOf(slot));
    const client = cluster.client();
    const locker = new Locker({ redis: client });
    try {
      const lock = await locker.lock("ledger", { expire: 600_000 });
      await refresh(client);
      assert.ok(
        client.nodes("slave").some((n) => port(n) === replica.server.port),
        "the client knows the replica",
      );
      const gone = new Promise<void>((resolve) =>
        client.on("-node", (node: Redis) => {
          if (port(node) === replica.server.port) resolve();
        })
      );
      await cluster.removeReplica(replica);
      await refresh(client);
      await within(gone, 10_000, "the client dropped the replica");
      assert.equal(lock.signal.aborted, false, String(lock.signal.reason));
      // The lease still works: the next user is served once it is released.
      const next = locker.lock("ledger", { label: "next" });
      await waitFor(
        async () => (await locker.status(["ledger"]))[0]?.users.length === 2,
        "the next user queued",
      );
      assert.equal(lock.signal.aborted, false);
      await lock.release();
      const after = await within(next, 10_000, "the next user's turn");
      assert.equal(after.number, lock.number + 1);
      await after.release();
    } finally {
      await locker.close();
    }
  },
});

Deno.test({
  name:
    "Redis Cluster: a master of other slots dies, and a lease held through another master stays",
  async fn() {
    await using cluster = await startCluster(3);
    const owner = await cluster.ownerOf(
      await cluster.slotOf("turn:{ledger}:x"),
    );
    const other = cluster.servers[(owner + 1) % 3];
    const client = cluster.client();
    const locker = new Locker({ redis: client });
    try {
      const lock = await locker.lock("ledger", { expire: 600_000 });
      // Connected to every master, the client hears at once of one dying.
      await Promise.all(client.nodes("master").map((node) => node.ping()));
      const gone = new Promise<void>((resolve) =>
        client.on("-node", (node: Redis) => {
          if (port(node) === other.port) resolve();
        })
      );
      other.process.kill("SIGKILL");
      await within(gone, 10_000, "the client dropped the dead master");
      assert.equal(lock.signal.aborted, false, String(lock.signal.reason));
      await lock.release();
    } finally {
      await locker.close().catch(() => {}); // a master is gone
    }
  },
});

Deno.test({
  name: "keySlot computes a key's Redis Cluster slot as Redis does",
  async fn() {
    await using cluster = await startCluster(1);
    const keys = [
      "turn:{ledger}:dispenser",
      "turn:ledger:dispenser",
      "foo",
      "",
      "{}",
      "a{}b{c}",
      "x{a}{b}",
      "{{a}}",
      "turn:{impr\u00e9s \u{1F5A8}}:indicator",
      "}{x}",
    ];
    for (const key of keys) {
      const expected = Number(await cluster.admins[0].cluster("KEYSLOT", key));
      assert.equal(keySlot(key), expected, JSON.stringify(key));
    }
  },
});
