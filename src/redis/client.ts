/**
 * The life of an ioredis client: loading ioredis, making a client the
 * Locker's own (credentials hidden from errors, sockets guarded), waiting a
 * bounded time until it is ready with the real reason when it is not, and
 * quitting it so that nothing it opened keeps the process alive.
 *
 * @module
 */

import type { Cluster, Redis, RedisOptions } from "ioredis";
import { ConnectionError } from "../errors.ts";
import { isReplyError } from "./errors.ts";
import type { Connection } from "./options.ts";
import { guardSockets } from "./stream_guard.ts";
import { settleWithin, TIMED_OUT } from "../wait.ts";

/** What the Locker uses of ioredis, loaded only once a connection is built. */
export interface Ioredis {
  readonly Redis: typeof Redis;
  readonly Cluster: typeof Cluster;
}

/** An ioredis client: one server (direct or through Sentinel), or a cluster. */
export type Client = Redis | Cluster;

/**
 * Loads ioredis. It reads the whole environment when it loads, so without
 * permission Deno would stop the program with a long trace from deep inside
 * a dependency: say what is missing in one line instead.
 */
export async function loadIoredis(address: string): Promise<Ioredis> {
  try {
    return await import("ioredis");
  } catch (error) {
    if ((error as Error | undefined)?.name !== "NotCapable") throw error;
    throw new ConnectionError(
      address,
      "the Redis client (ioredis) reads the environment when it loads: run with --allow-env",
    );
  }
}

/** A second client like `connection`'s (not connected), for pub/sub. */
export function duplicateClient(connection: Connection): Client {
  // Sharded pub/sub on a cluster needs a client made for it.
  const client = connection.cluster
    ? (connection.client as Cluster).duplicate([], { shardedSubscribers: true })
    : (connection.client as Redis).duplicate();
  adopt(client);
  keepConnected(client);
  return client;
}

/** What every client the Locker uses gets, whoever made it. */
export function adopt(client: Client): void {
  hideCredentials(client);
  guardSockets(client);
}

// ioredis attaches the failed command to its errors, and for a refused AUTH
// or HELLO (a password rotated while connected) its arguments hold the
// password. The same error object rejects every queued command, and loggers
// print all of an error's fields, so the arguments are blanked as soon as the
// error is emitted, before any rejection handler runs.
const hiding = new WeakSet<Client>();

function hideCredentials(client: Client): void {
  // A borrowed client may serve many Lockers: one listener is enough.
  if (hiding.has(client)) return;
  hiding.add(client);
  client.on("error", (error: Error) => {
    const command = (error as { command?: { name?: unknown; args?: unknown } })
      .command;
    const name = String(command?.name).toLowerCase();
    if ((name === "auth" || name === "hello") && Array.isArray(command!.args)) {
      command!.args = command!.args.map(() => "***");
    }
  });
}

/** Whether `error` is a failed `SELECT` of the connection handshake. */
function isSelectError(error: unknown): boolean {
  const command = (error as { command?: { name?: unknown } }).command;
  return command?.name === "select";
}

// ioredis reports a failed SELECT (no ACL permission, or a db number beyond
// the server's `databases`) as an error event and carries on in database 0,
// where the queues are other users' queues. Closing the connection makes
// every command fail instead, on every reconnect too.
/** Closes the connection of a client whose SELECT failed (see above). */
export function refuseWrongDatabase(client: Redis): void {
  client.on("error", (error: Error) => {
    if (isSelectError(error)) disconnect(client);
  });
}

/** Clients this module closed on purpose, and those it connects again. */
const closed = new WeakSet<Client>();
const kept = new WeakSet<Client>();

/** Closes `client` at once and for good: it is not connected again. */
export function disconnect(client: Client): void {
  closed.add(client);
  client.disconnect();
}

/** Whether `client` has ended for good (see keepConnected). */
export function endedForGood(client: Client): boolean {
  return client.status === "end" && (closed.has(client) || !kept.has(client));
}

/**
 * Connects a Sentinel client again, at once, whenever ioredis ends it by
 * itself rather than because this module closed it. ioredis gives such a
 * client up for good when a sentinel announces a failover (`+switch-master`)
 * while the client is asking a sentinel where the master is: its failover
 * detector closes the connector under that attempt, which fails with
 * "Connection is closed." and ends the client. Every later command would fail
 * so, and a waiter whose Locker it serves would never be served. Other
 * clients are left as they are.
 */
export function keepConnected(client: Client): void {
  if (client.isCluster || !(client as Redis).options.sentinels) return;
  kept.add(client);
  client.on("end", () => {
    if (!closed.has(client)) client.connect().catch(() => {});
  });
}

/**
 * The reason to report for a connection error, without ioredis's `command`
 * field: for a refused AUTH or HELLO it lists the password, and loggers print
 * an error's cause with all its fields.
 */
function reasonOf(error: Error): Error {
  // A Cluster says only "Failed to refresh slots cache"; the node's error
  // says why (refused, wrong password).
  const nodeError = (error as { lastNodeError?: Error }).lastNodeError;
  if (nodeError) return reasonOf(nodeError);
  if (!isSelectError(error)) return new Error(error.message);
  const db = (error as { command?: { args?: unknown[] } }).command?.args?.[0];
  return new Error(`cannot select database ${db}: ${error.message}`);
}

/**
 * Connects `client` (if it is not connected yet) and waits until it is ready,
 * at most `timeout` ms. Rejects with a ConnectionError naming the address and
 * the last reason Redis or the OS gave.
 */
export async function waitUntilReady(
  client: Client,
  address: string,
  timeout: number,
): Promise<void> {
  if (client.status === "ready") return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let refuse: (error: Error) => void = () => {};
  const givenUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), timeout);
    refuse = reject;
  });
  const reasons = watchReasons(client, (error) => refuse(error));
  const ready = client.status === "wait"
    ? client.connect()
    : new Promise<void>((resolve) => client.once("ready", () => resolve()));
  try {
    await Promise.race([ready, givenUp]);
  } catch (error) {
    // A Cluster's or Sentinel client's own words may hide why (see below).
    const reason = await firstServerError(client) ?? reasons.reason() ??
      (error === TIMED_OUT
        ? new Error(`no answer within ${timeout} ms`)
        : reasonOf(error as Error));
    throw new ConnectionError(address, reason.message, { cause: reason });
  } finally {
    clearTimeout(timer);
    reasons.stop();
  }
}

/** How long to wait for the first server asked to say what is wrong. */
const FIRST_SERVER_WAIT_MS = 2_000;

/**
 * What the first server a Cluster or a Sentinel client asks says to a
 * connection of its own; `undefined` for other clients, or when it says
 * nothing. A Cluster learns its slots, and a Sentinel client asks where
 * the master is, on connections whose errors they drop: they report only
 * "Connection is closed", where a single server names the certificate it
 * does not trust or the password it refused.
 */
async function firstServerError(client: Client): Promise<Error | undefined> {
  const asked = firstAsked(client);
  if (!asked) return undefined;
  const { Redis } = await import("ioredis");
  const server = new Redis({
    ...asked,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  guardSockets(server);
  let said: Error | undefined;
  server.on("error", (error: Error) => said ??= error);
  try {
    await settleWithin(
      server.connect().catch(() => {}),
      FIRST_SERVER_WAIT_MS,
      undefined,
    );
  } finally {
    await quit(server);
  }
  // The error event says why; a rejected connect() only that it closed.
  return said && reasonOf(said);
}

/** How to reach the first server `client` asks, as it reaches it. */
function firstAsked(client: Client): RedisOptions | undefined {
  if (client.isCluster) {
    const [first] =
      (client as unknown as { startupNodes?: unknown[] }).startupNodes ?? [];
    if (typeof first !== "object" || first === null) return undefined;
    return { ...(client as Cluster).options.redisOptions, ...first };
  }
  const options = (client as Redis).options;
  const [sentinel] = options.sentinels ?? [];
  if (!sentinel) return undefined;
  return {
    ...sentinel,
    tls: options.sentinelTLS,
    username: options.sentinelUsername,
    password: options.sentinelPassword,
  };
}

/** Why a client is not ready yet, as far as it has said. */
interface Reasons {
  reason(): Error | undefined;
  stop(): void;
}

/**
 * Remembers why `client` cannot get ready. A Cluster's own errors are
 * consequences ("Connection is closed", "Failed to refresh slots cache");
 * a node's error (a certificate not trusted, a wrong password) is the cause,
 * so it comes first. A refused ready check is passed to `refused` at once.
 */
function watchReasons(
  client: Client,
  refused: (error: Error) => void,
): Reasons {
  let last: Error | undefined;
  let node: Error | undefined;
  const onError = (error: Error) => last = reasonOf(error);
  const onNodeError = (error: Error) => node = reasonOf(error);
  const onConnect = () =>
    void readyCheckRefusal(client as Cluster).then((error) => {
      if (!error) return;
      last = reasonOf(error);
      refused(error);
    });
  client.on("error", onError);
  if (client.isCluster) {
    client.on("node error", onNodeError);
    client.on("connect", onConnect);
  }
  return {
    reason: () => node ?? last,
    stop() {
      client.off("error", onError);
      client.off("node error", onNodeError);
      client.off("connect", onConnect);
    },
  };
}

/**
 * A Cluster that has learnt its slots asks a node for `CLUSTER INFO` before
 * it is ready, and when that is refused (an ACL user without
 * `cluster|info`), it tries again and again without a word. Asking the same
 * here finds the refusal, if any.
 */
async function readyCheckRefusal(client: Cluster): Promise<Error | undefined> {
  try {
    await client.nodes()[0]?.call("CLUSTER", "INFO");
  } catch (error) {
    if (isReplyError(error)) return error as Error;
  }
  return undefined;
}

/** How long closing waits for a client's sockets to be closed. */
const END_WAIT_MS = 1_000;

/**
 * Closes a client politely, or at once if it is not connected, and resolves
 * once it has ended (at most {@linkcode END_WAIT_MS} later), so that nothing
 * it opened keeps the process alive.
 */
export async function quit(client: Client): Promise<void> {
  closed.add(client);
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
