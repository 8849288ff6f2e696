/**
 * Closing ioredis clients.
 *
 * @module
 */

import type { Cluster, Redis } from "ioredis";
import type { Client } from "./connection.ts";
import { settleWithin } from "../wait.ts";

/** How long closing waits for a client's sockets to be closed. */
const END_WAIT_MS = 1_000;

/**
 * Closes a client politely, or at once if it is not connected, and resolves
 * once it has ended (at most {@linkcode END_WAIT_MS} later), so that nothing
 * it opened keeps the process alive.
 */
export async function quit(client: Client): Promise<void> {
  const ended = untilEnded(client);
  if (client.isCluster) await quitCluster(client as Cluster);
  else await quitServer(client as Redis);
  await settleWithin(ended, END_WAIT_MS, undefined);
}

async function quitCluster(client: Cluster): Promise<void> {
  if (client.status === "ready") {
    try {
      await client.quit();
      return;
    } catch { /* fall through to disconnect */ }
  }
  client.disconnect();
}

async function quitServer(client: Redis): Promise<void> {
  if (client.status === "ready") {
    try {
      await client.quit();
    } catch { /* disconnect below */ }
  }
  // QUIT closes the connection to the master only. With Sentinel, ioredis's
  // failover detector keeps one subscribed connection per sentinel (its
  // connector's), which only disconnect() closes.
  client.disconnect();
}

function untilEnded(client: Client): Promise<void> {
  if (client.status === "end") return Promise.resolve();
  return new Promise((resolve) => client.once("end", () => resolve()));
}
