/**
 * A throwaway Redis Sentinel setup for tests: one master, one replica and
 * three sentinels, each from {@linkcode startRedis} (free ports, temp dirs).
 *
 * @module
 */

import { Redis } from "ioredis";
import {
  freePort,
  type RedisServer,
  startRedis,
} from "../../support/redis_server.ts";
import { tlsArgs, type TlsFiles } from "./tls_files.ts";
import { waitFor, within } from "./helpers.ts";

/** The master group name the sentinels monitor. */
export const MASTER_NAME = "turnmaster";

/** A running master, replica and sentinels. */
export interface SentinelGroup extends AsyncDisposable {
  readonly sentinels: readonly RedisServer[];
  /** `{ host, port }` of every sentinel, for ioredis or the Locker. */
  readonly addresses: readonly { host: string; port: number }[];
  /** The same with the sentinels' TLS ports, for a group with TLS. */
  readonly tlsAddresses: readonly { host: string; port: number }[];
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  /**
   * Fails the master over to its replica (SENTINEL FAILOVER), waits for the
   * sentinel's `+switch-master` (clients with ioredis' failover detector
   * move then), and stops the old master. Left running, it would stay
   * writable until the sentinel's next look at it (up to 10 s) and take
   * writes from any client not yet moved, which the new master never sees.
   */
  failover(): Promise<void>;
  /**
   * Kills the master with SIGKILL and waits until the sentinels, finding it
   * down, have promoted the replica (`+switch-master`).
   */
  crash(): Promise<void>;
  /**
   * Kills the master with SIGKILL while the first sentinel, the one clients
   * ask first, is paused (SIGSTOP): a client reconnecting meanwhile waits for
   * its answer. Resolves once the other two have promoted the replica and
   * announced it (`+switch-master`, which ioredis's failover detector hears
   * too), and a second later the first sentinel is resumed and answers.
   */
  crashWhileFirstSentinelPaused(): Promise<void>;
  /** Starts the stopped server again, as a synced replica of the master. */
  restoreReplica(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the group. `serverArgs` go to master and replica alike, e.g.
 * `["--min-replicas-to-write", "1"]`. With `tls`, every server also has a
 * TLS port (`tlsAddresses`), and the sentinels watch the master, and the
 * replica follows it, over TLS; the plain ports stay for the test's own
 * administration. `failover`, `crash` and `restoreReplica` are for groups
 * without TLS.
 */
export async function startSentinelGroup(
  serverArgs: readonly string[] = [],
  tls?: TlsFiles,
): Promise<SentinelGroup> {
  // No 5 s pause before a full sync (diskless sync's default delay).
  const args = [...serverArgs, "--repl-diskless-sync-delay", "0"];
  const [masterTls, replicaTls] = [0, 1].map(() => tls && freePort());
  const tlsOf = (port: number | undefined) =>
    tls ? [...tlsArgs(tls, port!), "--tls-replication", "yes"] : [];
  const master = await startRedis({ args: [...args, ...tlsOf(masterTls)] });
  const watched = masterTls ?? master.port;
  const replica = await startRedis({
    args: [
      ...args,
      ...tlsOf(replicaTls),
      "--replicaof",
      "127.0.0.1",
      String(watched),
    ],
  });
  const sentinelTls = [0, 1, 2].map(() => tls && freePort());
  const clients: Redis[] = [];
  const client = (port: number) => {
    const redis = new Redis(port, "127.0.0.1");
    redis.on("error", () => {});
    clients.push(redis);
    return redis;
  };
  const sentinels: RedisServer[] = [];
  const servers = [master, replica];
  const stop = async () => {
    for (const redis of clients) redis.disconnect();
    await Promise.all([...sentinels, ...servers].map((s) => s.stop()));
  };
  try {
    await untilSynced(client(replica.port));
    sentinels.push(
      ...await Promise.all(sentinelTls.map((tlsPort) =>
        startRedis({
          sentinel: true,
          config: [
            `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${watched} 2`,
            `sentinel down-after-milliseconds ${MASTER_NAME} 1500`,
            `sentinel failover-timeout ${MASTER_NAME} 10000`,
            ...(tls ? configLines(tlsOf(tlsPort)) : []),
          ],
        })
      )),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const asked = client(sentinels[0].port);
  const masterPort = async () => {
    const [, port] = await asked.call(
      "SENTINEL",
      "GET-MASTER-ADDR-BY-NAME",
      MASTER_NAME,
    ) as [string, string];
    return Number(port);
  };
  // A failover needs a sentinel that has talked to the replica itself, and
  // the other sentinels must know it to accept its new epoch: a sentinel
  // that missed the failover turns the new master back into a replica of the
  // old one, which wipes the queue it holds.
  // Sentinels read a master's INFO, and so learn of a replica, every 10 s.
  const untilReplicaKnown = () =>
    waitFor(
      async () => {
        const peers = await asked.call("SENTINEL", "SENTINELS", MASTER_NAME);
        if ((peers as unknown[]).length !== 2) return false;
        const replicas = await asked.call("SENTINEL", "REPLICAS", MASTER_NAME);
        const [fields] = replicas as string[][];
        if (!fields) return false;
        const info = new Map<string, string>();
        for (let i = 0; i < fields.length; i += 2) {
          info.set(fields[i], fields[i + 1]);
        }
        return info.get("flags") === "slave" &&
          info.get("master-link-status") === "ok" &&
          Number(info.get("info-refresh")) < 10_000;
      },
      "sentinel knows the replica and the other sentinels",
      30_000,
    );
  await untilReplicaKnown();
  const serverAt = (port: number) => servers.find((s) => s.port === port)!;
  /** Runs `act` and resolves on the next `+switch-master`; returns the old port. */
  const switchMaster = async (act: () => Promise<unknown>) => {
    const before = await masterPort();
    const listener = client(sentinels[0].port);
    const switched = new Promise<void>((resolve) =>
      listener.on("message", () => resolve())
    );
    await listener.subscribe("+switch-master");
    await act();
    await within(switched, 20_000, "+switch-master");
    listener.disconnect();
    return before;
  };
  return {
    sentinels,
    addresses: sentinels.map((s) => ({ host: "127.0.0.1", port: s.port })),
    tlsAddresses: sentinelTls.map((port) => ({
      host: "127.0.0.1",
      port: port ?? 0,
    })),
    masterPort,
    async failover() {
      const before = await switchMaster(() =>
        asked.call("SENTINEL", "FAILOVER", MASTER_NAME)
      );
      await serverAt(before).stop();
    },
    async crash() {
      const port = await masterPort();
      await switchMaster(() => serverAt(port).stop("SIGKILL"));
    },
    async crashWhileFirstSentinelPaused() {
      const port = await masterPort();
      const [first, ...others] = sentinels;
      const listeners = others.map((s) => client(s.port));
      const announced = listeners.map((listener) =>
        new Promise<void>((resolve) => listener.on("message", () => resolve()))
      );
      await Promise.all(listeners.map((l) => l.subscribe("+switch-master")));
      first.process.kill("SIGSTOP");
      try {
        await serverAt(port).stop("SIGKILL");
        await within(Promise.all(announced), 30_000, "+switch-master");
        // The clients' failover detectors hear the same announcement.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      } finally {
        first.process.kill("SIGCONT");
        for (const listener of listeners) listener.disconnect();
      }
    },
    async restoreReplica() {
      const now = await masterPort();
      const index = servers.findIndex((s) => s.port !== now);
      servers[index] = await startRedis({
        port: servers[index].port,
        args: [...args, "--replicaof", "127.0.0.1", String(now)],
      });
      await untilSynced(client(servers[index].port));
      await untilReplicaKnown();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** `["--name", "value", ...]` as config file lines, `name value`. */
function configLines(args: readonly string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < args.length; i += 2) {
    lines.push(`${args[i].slice(2)} ${args[i + 1]}`);
  }
  return lines;
}

/** Waits until `replica` has a live, synced link to its master. */
async function untilSynced(replica: Redis): Promise<void> {
  await waitFor(
    async () =>
      (await replica.info("replication")).includes("master_link_status:up"),
    "replica synced with its master",
    20_000,
  );
}
