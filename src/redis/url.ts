/**
 * Where a Locker finds its Redis when told a URL or nothing: the
 * environment's URL, a `redis://` URL parsed and checked, and the checks of
 * ports and database numbers. Passwords never reach a message.
 *
 * @module
 */

import type { RedisOptions } from "ioredis";
import { dbFromText, portFromText } from "../validate.ts";

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
 * import { environmentUrl } from "./url.ts";
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
