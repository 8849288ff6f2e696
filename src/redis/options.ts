/**
 * The Locker's connection options (their types are public, in ../types.ts):
 * their checks, and the plan of the ioredis client they describe (one
 * server, a master through Sentinel, a Cluster, or a borrowed client).
 * Nothing is loaded or sent here; client.ts builds and connects.
 *
 * @module
 */

import type { Redis, RedisOptions } from "ioredis";
import type { ConnectionOptions, ServerAddress } from "../types.ts";
import { checkDb, checkPort, checkWord } from "../validate.ts";
import {
  adopt,
  type Client,
  type Ioredis,
  keepConnected,
  refuseWrongDatabase,
} from "./client.ts";
import { parseRedisUrl, urlFromEnvironment } from "./url.ts";

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
      keepConnected(client);
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
