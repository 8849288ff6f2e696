/**
 * Which backend a Locker uses, chosen only by what it is told: a `file:`
 * URL selects the file backend, anything else Redis. Nothing is probed, so
 * two programs given the same settings always share one lock domain.
 *
 * @module
 */

import type { Engine } from "./engine.ts";
import { openFileEngine } from "./file/backend.ts";
import { RedisEngine } from "./redis/engine.ts";
import { LazyEngine } from "./redis/lazy_engine.ts";
import { badUrl, urlFromEnvironment } from "./redis/url.ts";
import { loadIoredis } from "./redis/client.ts";
import { planConnection, SERVER_OPTIONS } from "./redis/options.ts";
import type { LockerOptions } from "./types.ts";

const REDIS_ONLY = [...SERVER_OPTIONS, "redis", "hashTag"] as const;

/**
 * A test seam, not part of the API (mod.ts does not export it): in the
 * options of a Locker with a `file:` URL, how often its watch looks without
 * events, in ms. The poll hides a wakeup that events alone fail to bring,
 * making it half a second late instead of missing, so a test that must
 * catch such a miss pushes the poll out of its reach.
 *
 * @example
 * ```ts ignore
 * const options = { url, [FILE_POLL_MS]: 3_600_000 };
 * const locker = new Locker(options);
 * ```
 */
export const FILE_POLL_MS: unique symbol = Symbol("turn.filePollMs");

/** Options only tests give (see FILE_POLL_MS). */
interface TestSeams {
  readonly [FILE_POLL_MS]?: number;
}

/**
 * The directory a `file:` URL names: `file:///var/lock/turn` is
 * `/var/lock/turn`. Only this host's files (no host, or `localhost`).
 */
export function directoryOfFileUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, "must be a valid file:///path URL");
  }
  if (parsed.host !== "" && parsed.host !== "localhost") {
    throw badUrl(url, "must name a directory on this host (file:///path)");
  }
  // `file:dir` would parse as `/dir`: a relative path is refused, not moved.
  if (!/^file:(?:\/\/(?:localhost)?)?\//i.test(url)) {
    throw badUrl(url, "must name an absolute directory (file:///path)");
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw badUrl(url, "must have no query or fragment");
  }
  const path = decodeURIComponent(parsed.pathname);
  if (path.includes("\0")) throw badUrl(url, "must not contain NUL");
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

/**
 * The engine for `options`: the file backend for a `file:` URL (given, or
 * from `TURN_URL` when no connection option is given), Redis otherwise.
 */
export function openEngine(options: LockerOptions): Engine {
  const connection = REDIS_ONLY.filter((name) => options[name] !== undefined);
  const url = options.url ??
    (connection.length === 0 ? urlFromEnvironment() : undefined);
  if (typeof url !== "string") return openRedisEngine(options);
  if (url.startsWith("file:")) {
    if (connection.length > 0) {
      throw new TypeError(
        `a file: url cannot be combined with ${REDIS_ONLY.join(", ")}: got ${
          connection[0]
        }`,
      );
    }
    const pollMs = (options as TestSeams)[FILE_POLL_MS];
    return openFileEngine(directoryOfFileUrl(url), pollMs);
  }
  if (!/^rediss?:/.test(url)) {
    throw badUrl(url, "must start with redis://, rediss:// or file://");
  }
  return openRedisEngine({ ...options, url });
}

/**
 * The Redis engine for `options`, checked now and built once ioredis has
 * loaded, so that a program using only the file backend never loads it.
 */
function openRedisEngine(options: LockerOptions): Engine {
  const plan = planConnection(options);
  if (plan.cluster && options.hashTag === false) {
    throw new TypeError(
      "hashTag must be true with a Redis Cluster, so each resource's keys share one slot: got false",
    );
  }
  return new LazyEngine(
    loadIoredis(plan.address).then((ioredis) =>
      new RedisEngine(options, plan.build(ioredis))
    ),
  );
}
