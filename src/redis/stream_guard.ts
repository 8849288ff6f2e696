/**
 * Keeps a refused TLS socket from ending the process under Deno.
 *
 * ioredis listens for one `error` on each socket it makes (`once`), as Node
 * emits at most one. Deno's Node compatibility can emit a second, `write
 * EPIPE`, when a server that requires a client certificate closes the
 * connection of a client without one; with no listener left, Deno ends the
 * whole process ("Uncaught Error: write EPIPE"). Each socket ioredis makes
 * for a guarded client gets a listener of its own, which drops such late
 * errors: ioredis has reported the first one already.
 *
 * @module
 */

import type { Cluster, Redis } from "ioredis";
import type { Client } from "./client.ts";

/** The part of an ioredis connector this module wraps. */
interface Connector {
  connect(...args: unknown[]): Promise<Socket>;
}

interface Socket {
  on(event: "error", listener: () => void): unknown;
}

const guarded = new WeakSet<object>();

/**
 * Guards every socket `client` makes from now on, and those of its
 * duplicates (a Cluster learns its slots on a duplicate of a node's
 * client); for a Cluster, those of each node it adds.
 */
export function guardSockets(client: Client): void {
  if (guarded.has(client)) return;
  guarded.add(client);
  if (client.isCluster) {
    client.on("+node", (node: Client) => guardSockets(node));
    for (const node of (client as Cluster).nodes()) guardSockets(node);
    return;
  }
  const redis = client as Redis;
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (...args) => {
    const copy = duplicate(...args);
    guardSockets(copy);
    return copy;
  };
  const connector = (client as unknown as { connector?: Connector }).connector;
  if (typeof connector?.connect !== "function") return;
  const connect = connector.connect.bind(connector);
  connector.connect = async (...args) => {
    const socket = await connect(...args);
    socket.on("error", () => {});
    return socket;
  };
}
