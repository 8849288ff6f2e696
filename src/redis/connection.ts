/**
 * Turns the Locker's connection options into an ioredis client and waits,
 * for a bounded time, until it is ready. Passwords never reach a message.
 *
 * @module
 */

import type { Cluster, Redis, RedisOptions } from "ioredis";
import { ConnectionError } from "../errors.ts";
import { isReplyError } from "./errors.ts";
import {
  checkDb,
  checkPort,
  checkWord,
  dbFromText,
  portFromText,
} from "../validate.ts";
import { quit } from "./quit.ts";
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
 * An ioredis `Redis` or `Cluster` client, described by the little this
 * module's public types need, so that they do not expose ioredis' own types.
 * With a `Cluster`, keys carry a hash tag and grants use sharded pub/sub.
 *
 * @example Lending the Locker an existing client
 * ```ts
 * import { Redis } from "ioredis";
 * import { Locker } from "../locker.ts";
 * const redis = new Redis(Deno.env.get("TURN_REDIS_URL") ?? "redis://localhost:6379/0");
 * const locker = new Locker({ redis }); // never closes `redis`
 * await locker.close();
 * redis.disconnect();
 * ```
 */
export interface IoredisClient {
  /** The client's connection options. */
  readonly options: object;
  /** `true` for an ioredis `Cluster`. */
  readonly isCluster?: boolean;
  /** Makes a second connection with the same options. */
  duplicate(): unknown;
}

/**
 * Where one server listens: a Redis Sentinel to ask where the master is, or a
 * Redis Cluster node to learn the cluster from.
 *
 * @example
 * ```ts
 * import type { ServerAddress } from "./connection.ts";
 * const sentinel: ServerAddress = { host: "sentinel-1.internal", port: 26379 };
 * ```
 */
export interface ServerAddress {
  /** The server's host name or address. */
  readonly host: string;
  /** The server's port (Sentinel's default is 26379). */
  readonly port: number;
}

/**
 * How to reach Redis. With none of these, the environment decides.
 *
 * @example turn 1.0's connection words
 * ```ts
 * import type { ConnectionOptions } from "./connection.ts";
 * const options: ConnectionOptions = { host: "redis.internal", port: 6380, db: 2 };
 * ```
 */
export interface ConnectionOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS, or
   * `file:///dir` for the file backend (one host, no server).
   */
  readonly url?: string;
  /** Host name (turn 1.0's `--host`). Default `localhost`. */
  readonly host?: string;
  /** Port (turn 1.0's `--port`). Default 6379. */
  readonly port?: number;
  /** Database number (turn 1.0's `--db`). Default 0. */
  readonly db?: number;
  /** Password (turn 1.0's `--password`). */
  readonly password?: string;
  /** ACL user name. */
  readonly username?: string;
  /** Connect with TLS: `true`, or Node TLS options. */
  readonly tls?: boolean | Record<string, unknown>;
  /**
   * An existing ioredis client to borrow. It is never closed by the Locker;
   * the Locker duplicates it for pub/sub.
   */
  readonly redis?: IoredisClient;
  /** How long to wait for a connection before giving up. Default 5000 ms. */
  readonly connectTimeout?: number;
  /**
   * Redis Sentinels to ask for the master named `name` (ioredis' sentinel
   * options). `password`, `username`, `db` and `tls` apply to the master.
   */
  readonly sentinels?: readonly ServerAddress[];
  /** The master group name the sentinels monitor (with `sentinels`). */
  readonly name?: string;
  /**
   * Redis Cluster nodes to learn the cluster from (a few masters are
   * enough). The Locker then opens and owns an ioredis `Cluster`;
   * `password`, `username` and `tls` apply to every node.
   */
  readonly cluster?: readonly ServerAddress[];
}

/**
 * A connection whose options have been checked: where it goes, and how to
 * build its client once ioredis is loaded.
 */
export interface ConnectionPlan {
  /** `host:port`, for messages. */
  readonly address: string;
  /** The client will be an ioredis `Cluster`. */
  readonly cluster: boolean;
  /** Builds the client (not connected). */
  build(ioredis: Ioredis): Connection;
}

/** A client the Locker uses, and whether the Locker must close it. */
export interface Connection {
  readonly client: Client;
  readonly owned: boolean;
  /** `host:port`, for messages. */
  readonly address: string;
  /** The client is an ioredis `Cluster`. */
  readonly cluster: boolean;
}

const DEFAULT_URL = "redis://localhost:6379/0";
/** Read in this order; `TURN_URL` may also hold a `file:` URL. */
const ENV_NAMES = ["TURN_URL", "TURN_REDIS_URL", "REDIS_URL"] as const;

/**
 * Hides the password of a URL-like string, for error messages. Everything up
 * to the last `@` counts as user info, since a malformed URL may hold a
 * password with a raw `@` or `/` in it.
 */
export function redact(url: string): string {
  // The slashes are optional: `redis:user:pw@host` and `redis:/user:pw@host`
  // are typos that must not show the password either.
  return url.replace(
    /^([a-z][a-z0-9+.-]*:)(\/*)(.*)@/is,
    (_, scheme: string, slashes: string, userinfo: string) => {
      const user = userinfo.split(":")[0];
      return `${scheme}${slashes}${user ? `${user}:` : ""}***@`;
    },
  );
}

/**
 * An environment variable's value (`undefined` when unset or empty), under
 * Deno or Node. Without permission to read it, a TypeError says which
 * `--allow-env` is missing.
 */
export function readEnv(name: string): string | undefined {
  // deno-lint-ignore no-explicit-any
  const runtime = globalThis as any;
  if (!runtime.Deno?.env) return runtime.process?.env?.[name] || undefined;
  try {
    return runtime.Deno.env.get(name) || undefined;
  } catch (error) {
    throw new TypeError(
      `reading ${name} needs --allow-env=${
        ENV_NAMES.join(",")
      }, or pass { url }: ${(error as Error).message}`,
    );
  }
}

/**
 * The URL a Locker given no connection options takes from the environment:
 * `TURN_URL`, else `TURN_REDIS_URL`, else `REDIS_URL`; `undefined` when none
 * is set (the Locker then uses `redis://localhost:6379/0`). Use it to give
 * other clients, such as BullMQ's, the same server as the Locker.
 *
 * @example Sharing the Locker's Redis with another client
 * ```ts
 * import { environmentUrl } from "./connection.ts";
 * const url = environmentUrl() ?? "redis://localhost:6379/0";
 * console.log(`turn and the app both use ${url}`);
 * ```
 */
export function environmentUrl(): string | undefined {
  for (const name of ENV_NAMES) {
    const value = readEnv(name);
    if (value) return value;
  }
  return undefined;
}

/** The URL to use when no connection option is given. */
export function urlFromEnvironment(): string {
  return environmentUrl() ?? DEFAULT_URL;
}

/** The error for a URL that breaks `rule`; the password never shows. */
export function badUrl(url: string, rule: string): TypeError {
  return new TypeError(`url ${rule}: got ${JSON.stringify(redact(url))}`);
}

/** Parses a `redis://` or `rediss://` URL into ioredis options. */
export function parseRedisUrl(url: string): RedisOptions {
  if (typeof url !== "string") {
    throw new TypeError(`url must be a string: got ${typeof url}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, "must be a valid redis:// or rediss:// URL");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw badUrl(url, "must start with redis:// or rediss://");
  }
  if (!parsed.hostname) throw badUrl(url, "must name a host");
  const dbText = parsed.pathname.replace(/^\//, "");
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port ? portFromText(parsed.port) : 6379,
    db: dbText ? dbFromText(dbText) : 0,
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === "rediss:") options.tls = {};
  return options;
}

function redisOptions(options: ConnectionOptions): RedisOptions {
  const { url, host, port, db, password, username, tls } = options;
  const explicit = host !== undefined || port !== undefined ||
    db !== undefined || password !== undefined || username !== undefined ||
    tls !== undefined;
  const base = url !== undefined
    ? parseRedisUrl(url)
    : explicit
    ? { host: "localhost", port: 6379, db: 0 }
    : parseRedisUrl(urlFromEnvironment());
  if (host !== undefined) {
    if (typeof host !== "string" || host === "") {
      throw new TypeError(
        `host must be a non-empty string: got ${JSON.stringify(host)}`,
      );
    }
    base.host = host;
  }
  if (port !== undefined) base.port = checkPort(port, String(port));
  if (db !== undefined) base.db = checkDb(db, String(db));
  if (password !== undefined) base.password = password;
  if (username !== undefined) base.username = checkWord("username", username);
  if (tls !== undefined && tls !== false) {
    base.tls = tls === true ? {} : tls;
  }
  return base;
}

function addressOf(options: RedisOptions): string {
  if (options.sentinels) {
    return `sentinel master ${JSON.stringify(options.name)}`;
  }
  if (options.path) return options.path;
  return hostAndPort(options.host ?? "localhost", options.port ?? 6379);
}

function hostAndPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The longest pause between reconnect attempts. ioredis' default grows to
 * 2 s, which is how late waiters would learn that Redis is back.
 */
const MAX_RECONNECT_DELAY_MS = 250;

function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS);
}

function refuseGiven(
  options: ConnectionOptions,
  names: readonly (keyof ConnectionOptions)[],
  rule: string,
): void {
  const given = names.filter((name) => options[name] !== undefined);
  if (given.length > 0) throw new TypeError(`${rule}: got ${given.join(", ")}`);
}

// Entries are described, not echoed: a URL given by mistake may hold a
// password.
function checkAddresses(what: string, addresses: unknown): ServerAddress[] {
  if (!Array.isArray(addresses) || addresses.length === 0) {
    throw new TypeError(
      `${what} must be a non-empty array of { host, port }: got ${
        Array.isArray(addresses) ? "[]" : typeof addresses
      }`,
    );
  }
  return addresses.map((address: unknown, index) => {
    const entry = `${what}[${index}]`;
    const { host, port } = (address ?? {}) as Record<string, unknown>;
    if (typeof host !== "string" || host === "") {
      throw new TypeError(
        `${entry} must be { host, port } with a non-empty host: got ${
          typeof address === "object" ? `host ${typeof host}` : typeof address
        }`,
      );
    }
    return { host, port: checkPort(port, String(port), `${entry}.port`) };
  });
}

/** The options that apply to each server, whoever names its address. */
function credentials(options: ConnectionOptions): RedisOptions {
  const base = redisOptions({ ...options, host: "localhost" });
  delete base.host;
  delete base.port;
  return base;
}

function checkSentinels(options: ConnectionOptions): RedisOptions {
  refuseGiven(
    options,
    ["url", "host", "port"],
    "sentinels name the master's address: drop url, host and port",
  );
  const sentinels = checkAddresses("sentinels", options.sentinels);
  const { name } = options;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `name (the sentinels' master group) must be a non-empty string: got ${
        JSON.stringify(name)
      }`,
    );
  }
  const master = credentials(options);
  return {
    ...master,
    // TLS, when asked for, goes to the sentinels as well as to the master.
    ...(master.tls
      ? { enableTLSForSentinelMode: true, sentinelTLS: master.tls }
      : {}),
    sentinels,
    name,
    // Move to the new master as soon as a sentinel announces +switch-master,
    // not when the old master, still writable, next drops the connection.
    failoverDetector: true,
  };
}

function planCluster(options: ConnectionOptions): ConnectionPlan {
  refuseGiven(
    options,
    ["url", "host", "port", "sentinels", "name"],
    "cluster nodes name the servers: drop url, host, port, sentinels and name",
  );
  if (options.db !== undefined && options.db !== 0) {
    throw new RangeError(
      `db must be 0 on a Redis Cluster, which has only database 0: got ${options.db}`,
    );
  }
  const nodes = checkAddresses("cluster", options.cluster);
  const nodeOptions = credentials(options);
  const address = `Redis Cluster ${
    nodes.map(({ host, port }) => hostAndPort(host, port)).join(",")
  }`;
  return {
    address,
    cluster: true,
    build: ({ Cluster }) => {
      const client = new Cluster(nodes, {
        lazyConnect: true,
        clusterRetryStrategy: reconnectDelay,
        redisOptions: nodeOptions,
      });
      adopt(client);
      return { client, owned: true, address, cluster: true };
    },
  };
}

/** The options that describe which server to reach, besides `url`. */
export const SERVER_OPTIONS = [
  "host",
  "port",
  "db",
  "password",
  "username",
  "tls",
  "sentinels",
  "name",
  "cluster",
] as const;

/**
 * Checks `options` and plans the client they describe; throws on bad
 * options, before anything is loaded or sent.
 */
export function planConnection(options: ConnectionOptions): ConnectionPlan {
  if (options.redis) return planBorrowed(options);
  if (options.cluster !== undefined) return planCluster(options);
  const resolved = options.sentinels !== undefined || options.name !== undefined
    ? checkSentinels(options)
    : redisOptions(options);
  const address = addressOf(resolved);
  return {
    address,
    cluster: false,
    build: ({ Redis }) => {
      const client = new Redis({
        ...resolved,
        lazyConnect: true,
        retryStrategy: reconnectDelay,
      });
      adopt(client);
      refuseWrongDatabase(client);
      return { client, owned: true, address, cluster: false };
    },
  };
}

function planBorrowed(options: ConnectionOptions): ConnectionPlan {
  refuseGiven(
    options,
    ["url", ...SERVER_OPTIONS],
    "a borrowed client (redis) is already configured: drop the other connection options",
  );
  const client = options.redis as unknown as Client;
  const cluster = client.isCluster === true;
  const address = cluster
    ? "Redis Cluster"
    : addressOf((client as Redis).options);
  return {
    address,
    cluster,
    build: () => {
      adopt(client);
      return { client, owned: false, address, cluster };
    },
  };
}

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
  return client;
}

/** What every client the Locker uses gets, whoever made it. */
function adopt(client: Client): void {
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
function refuseWrongDatabase(client: Redis): void {
  client.on("error", (error: Error) => {
    if (isSelectError(error)) client.disconnect();
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
