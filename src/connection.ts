/**
 * Turns the Locker's connection options into an ioredis client and waits,
 * for a bounded time, until it is ready. Passwords never reach a message.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import { ConnectionError } from "./errors.ts";

/**
 * An ioredis `Redis` client, described by the little this module's public
 * types need, so that they do not expose ioredis' own types.
 *
 * @example Lending the Locker an existing client
 * ```ts
 * import { Redis } from "ioredis";
 * import { Locker } from "./locker.ts";
 * const redis = new Redis(Deno.env.get("TURN_REDIS_URL") ?? "redis://localhost:6379/0");
 * const locker = new Locker({ redis }); // never closes `redis`
 * await locker.close();
 * redis.disconnect();
 * ```
 */
export interface IoredisClient {
  /** The client's connection options. */
  readonly options: {
    readonly host?: string;
    readonly port?: number;
    readonly path?: string;
  };
  /** Makes a second connection with the same options. */
  duplicate(): unknown;
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
}

/** A client the Locker uses, and whether the Locker must close it. */
export interface Connection {
  readonly client: Redis;
  readonly owned: boolean;
  /** `host:port`, for messages. */
  readonly address: string;
}

const DEFAULT_URL = "redis://localhost:6379/0";
/** Read in this order; `TURN_URL` may also hold a `file:` URL. */
const ENV_NAMES = ["TURN_URL", "TURN_REDIS_URL", "REDIS_URL"] as const;

/** Hides the password of a URL-like string, for error messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^/@]*)@/, (_, userinfo: string) => {
    const user = userinfo.split(":")[0];
    return `//${user ? `${user}:` : ""}***@`;
  });
}

function readEnv(name: string): string | undefined {
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

/** The URL to use when no connection option is given. */
export function urlFromEnvironment(): string {
  for (const name of ENV_NAMES) {
    const value = readEnv(name);
    if (value) return value;
  }
  return DEFAULT_URL;
}

/** The error for a URL that breaks `rule`; the password never shows. */
export function badUrl(url: string, rule: string): TypeError {
  return new TypeError(`url ${rule}: got ${JSON.stringify(redact(url))}`);
}

function checkPort(port: unknown, source: string): number {
  if (
    typeof port !== "number" || !Number.isInteger(port) || port < 1 ||
    port > 65535
  ) {
    throw new RangeError(
      `port must be an integer from 1 to 65535: got ${source}`,
    );
  }
  return port;
}

function checkDb(db: unknown, source: string): number {
  if (typeof db !== "number" || !Number.isInteger(db) || db < 0) {
    throw new RangeError(
      `db must be a non-negative integer: got ${source}`,
    );
  }
  return db;
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
    port: parsed.port ? checkPort(Number(parsed.port), parsed.port) : 6379,
    db: dbText ? checkDb(Number(dbText), JSON.stringify(dbText)) : 0,
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
  if (username !== undefined) base.username = username;
  if (tls !== undefined && tls !== false) {
    base.tls = tls === true ? {} : tls;
  }
  return base;
}

function addressOf(options: RedisOptions): string {
  if (options.path) return options.path;
  const host = options.host ?? "localhost";
  return `${host.includes(":") ? `[${host}]` : host}:${options.port ?? 6379}`;
}

/** Builds (but does not connect) the client described by `options`. */
export function openConnection(options: ConnectionOptions): Connection {
  if (options.redis) {
    const client = options.redis as unknown as Redis;
    return { client, owned: false, address: addressOf(client.options) };
  }
  const resolved = redisOptions(options);
  const client = new Redis({ ...resolved, lazyConnect: true });
  return { client, owned: true, address: addressOf(resolved) };
}

/**
 * Connects `client` (if it is not connected yet) and waits until it is ready,
 * at most `timeout` ms. Rejects with a ConnectionError naming the address and
 * the last reason Redis or the OS gave.
 */
export async function waitUntilReady(
  client: Redis,
  address: string,
  timeout: number,
): Promise<void> {
  if (client.status === "ready") return;
  let lastError: Error | undefined;
  const remember = (error: Error) => lastError = error;
  client.on("error", remember);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConnectionError(
            address,
            lastError?.message ?? `no answer within ${timeout} ms`,
          ),
        ),
      timeout,
    );
  });
  const ready = client.status === "wait"
    ? client.connect()
    : new Promise<void>((resolve) => client.once("ready", () => resolve()));
  try {
    await Promise.race([ready, expired]);
  } catch (error) {
    if (error instanceof ConnectionError) throw error;
    throw new ConnectionError(
      address,
      lastError?.message ?? (error as Error).message,
      { cause: lastError ?? error },
    );
  } finally {
    clearTimeout(timer);
    client.off("error", remember);
  }
}
