/**
 * A throwaway Redis Cluster for tests: masters started with
 * {@linkcode startRedis} (free ports, temp dirs) and joined by hand
 * (ADDSLOTSRANGE, SET-CONFIG-EPOCH, MEET), which is quicker than
 * `redis-cli --cluster create`. Also moves a slot from one master to another
 * the way `redis-cli --cluster reshard` does.
 *
 * @module
 */

import { Cluster, Redis } from "ioredis";
import {
  freePort,
  type RedisServer,
  startRedis,
} from "../../support/redis_server.ts";
import { tlsArgs, type TlsFiles } from "./tls_files.ts";
import { waitFor } from "./helpers.ts";

const SLOTS = 16384;

/** A running cluster of masters, no replicas. */
export interface RedisCluster extends AsyncDisposable {
  readonly servers: readonly RedisServer[];
  /** With TLS, each server's TLS port (what the cluster announces). */
  readonly tlsPorts: readonly (number | undefined)[];
  /** A plain client per master, for administration and inspection. */
  readonly admins: readonly Redis[];
  /** An ioredis Cluster client on these masters; closed with the cluster. */
  client(): Cluster;
  /** Index of the master that serves `slot` now. */
  ownerOf(slot: number): Promise<number>;
  /** The slot of `key`. */
  slotOf(key: string): Promise<number>;
  /**
   * Moves `slot` and its keys to master `to`: IMPORTING/MIGRATING, MIGRATE
   * in batches of up to 100 keys, then SETSLOT NODE everywhere.
   */
  moveSlot(slot: number, to: number, split?: SplitMove): Promise<void>;
  /** Starts a replica of master `master`; resolves once masters list it. */
  addReplica(master: number): Promise<ClusterReplica>;
  /**
   * Takes `replica` out of the cluster: shuts it down, then every master
   * forgets it; resolves once no master lists it.
   */
  removeReplica(replica: ClusterReplica): Promise<void>;
  stop(): Promise<void>;
}

/** A replica added by {@linkcode RedisCluster.addReplica}. */
export interface ClusterReplica {
  readonly server: RedisServer;
  readonly id: string;
}

/**
 * Moves a slot's keys in chosen batches, pausing between them. A first batch
 * of none holds the slot MIGRATING with every key still on its owner.
 */
export interface SplitMove {
  /** The keys of the slot, split into batches moved in this order. */
  batches(keys: string[]): string[][];
  /** Runs after each batch but the last, with the slot split. */
  between(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled servers and joins them into one cluster.
 * `args` go to every server, e.g. `["--aclfile", path]`; the default user
 * must stay able to administer the cluster. With `tls`, each server also
 * has a TLS port, which is the one the cluster announces to clients, and
 * which asks clients for a certificate if `clientCertificates` is true.
 */
export async function startCluster(
  masters = 3,
  args: readonly string[] = [],
  tls?: TlsFiles,
  clientCertificates = false,
): Promise<RedisCluster> {
  const tlsPorts = Array.from({ length: masters }, () => tls && freePort());
  const servers = await Promise.all(
    tlsPorts.map((tlsPort) =>
      startRedis({
        args: [
          "--cluster-enabled",
          "yes",
          "--cluster-node-timeout",
          "5000",
          ...args,
          // The nodes then talk TLS to each other and announce their TLS
          // ports; the plain ones stay for the test's own administration.
          ...(tls
            ? [
              ...tlsArgs(tls, tlsPort!, clientCertificates),
              "--tls-cluster",
              "yes",
            ]
            : []),
        ],
      })
    ),
  );
  const admins = servers.map((s) => new Redis(s.port, "127.0.0.1"));
  // A master a test kills would print every reconnect failure.
  for (const admin of admins) admin.on("error", () => {});
  const clients: Cluster[] = [];
  const replicas: RedisServer[] = [];
  const stop = async () => {
    for (const client of clients) client.disconnect();
    for (const admin of admins) admin.disconnect();
    await Promise.all([...servers, ...replicas].map((s) => s.stop()));
  };
  try {
    // With TLS the cluster bus listens beside the TLS port.
    await join(admins, servers.map((s, i) => tlsPorts[i] ?? s.port));
  } catch (error) {
    await stop();
    throw error;
  }
  const ids = await Promise.all(
    admins.map(async (a) => String(await a.cluster("MYID"))),
  );
  const cluster: RedisCluster = {
    servers,
    tlsPorts,
    admins,
    client() {
      const client = new Cluster(
        servers.map((s) => ({ host: "127.0.0.1", port: s.port })),
      );
      client.on("error", () => {});
      clients.push(client);
      return client;
    },
    async ownerOf(slot) {
      return ids.indexOf(ownerId(await admins[0].cluster("SLOTS"), slot));
    },
    async slotOf(key) {
      return Number(await admins[0].cluster("KEYSLOT", key));
    },
    async moveSlot(slot, to, split) {
      const from = await cluster.ownerOf(slot);
      if (from === to) return;
      const [source, target] = [admins[from], admins[to]];
      // An empty batch moves nothing: the slot stays MIGRATING meanwhile.
      const migrate = async (keys: string[]) =>
        keys.length > 0 && await source.migrate(
          "127.0.0.1",
          servers[to].port,
          "",
          0,
          5000,
          "KEYS",
          ...keys,
        );
      await target.cluster("SETSLOT", slot, "IMPORTING", ids[from]);
      await source.cluster("SETSLOT", slot, "MIGRATING", ids[to]);
      if (split) {
        const batches = split.batches(
          await source.cluster("GETKEYSINSLOT", slot, 1000),
        );
        for (const [index, batch] of batches.entries()) {
          await migrate(batch);
          if (index < batches.length - 1) await split.between();
        }
      }
      // Like `redis-cli --cluster reshard`: one MIGRATE per batch of keys.
      for (;;) {
        const keys = await source.cluster("GETKEYSINSLOT", slot, 100);
        if (keys.length === 0) break;
        await migrate(keys);
      }
      // The new owner first, so no node points at a master that disowns it.
      for (const admin of [target, source, ...admins]) {
        await admin.cluster("SETSLOT", slot, "NODE", ids[to]);
      }
      await waitUntilAgreed(admins, slot, ids[to]);
    },
    async addReplica(master) {
      const server = await startRedis({
        args: ["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"],
      });
      replicas.push(server);
      const admin = new Redis(server.port, "127.0.0.1");
      try {
        await admin.cluster("MEET", "127.0.0.1", servers[master].port);
        await waitFor(
          async () =>
            String(await admin.cluster("NODES")).includes(ids[master]),
          "the replica knows its master",
          60_000,
        );
        await admin.cluster("REPLICATE", ids[master]);
        await waitFor(
          () => listsNode(admins, server.port),
          "every master lists the replica",
          // Gossip is slow on a loaded machine.
          60_000,
        );
        return { server, id: String(await admin.cluster("MYID")) };
      } finally {
        admin.disconnect();
      }
    },
    async removeReplica({ server, id }) {
      await server.stop();
      await Promise.all(admins.map((admin) => admin.cluster("FORGET", id)));
      await waitFor(
        async () => !await listsNode(admins, server.port, true),
        "no master lists the replica",
      );
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return cluster;
}

async function join(admins: Redis[], ports: number[]): Promise<void> {
  const share = Math.ceil(SLOTS / admins.length);
  await Promise.all(admins.map(async (admin, index) => {
    const from = index * share;
    const to = Math.min(SLOTS, from + share) - 1;
    await admin.cluster("SET-CONFIG-EPOCH", index + 1);
    await admin.cluster("ADDSLOTSRANGE", from, to);
  }));
  // Every pair meets, so nobody waits for gossip to learn of a third node.
  await Promise.all(
    admins.flatMap((admin, index) =>
      ports.slice(index + 1).map((port) =>
        admin.cluster("MEET", "127.0.0.1", port)
      )
    ),
  );
  // A fresh master waits 2 s (CLUSTER_WRITABLE_DELAY) before it says ok.
  await waitFor(
    async () =>
      (await Promise.all(admins.map((a) => a.cluster("INFO")))).every((info) =>
        info.includes("cluster_state:ok") &&
        info.includes(`cluster_known_nodes:${admins.length}`)
      ),
    "cluster state ok on every master",
  );
}

/** Whether every master (or, with `any`, some master) lists node `port`. */
async function listsNode(
  admins: readonly Redis[],
  port: number,
  any = false,
): Promise<boolean> {
  const lists = await Promise.all(admins.map(async (admin) => {
    const ranges = await admin.cluster("SLOTS") as SlotRanges;
    return ranges.some(([, , ...nodes]) => nodes.some(([, p]) => p === port));
  }));
  return any ? lists.some(Boolean) : lists.every(Boolean);
}

async function waitUntilAgreed(
  admins: readonly Redis[],
  slot: number,
  owner: string,
): Promise<void> {
  await waitFor(
    async () =>
      (await Promise.all(admins.map((a) => a.cluster("SLOTS")))).every((
        ranges,
      ) => ownerId(ranges, slot) === owner),
    `every master agrees slot ${slot} is on ${owner}`,
  );
}

/** A CLUSTER SLOTS reply: from, to, then master and replicas. */
type SlotRanges = [number, number, ...[string, number, string, unknown[]][]][];

/** The node id serving `slot` in a CLUSTER SLOTS reply. */
function ownerId(ranges: SlotRanges, slot: number): string {
  const range = ranges.find(([from, to]) => from <= slot && slot <= to);
  if (!range) throw new Error(`slot ${slot} has no owner`);
  return range[2][2];
}
