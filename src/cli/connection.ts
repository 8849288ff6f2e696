/**
 * Where the CLI takes turns: `--url` (Redis, or `file:` for the file
 * backend), or turn 1.0's `--host --port --db --password`, or else the
 * Locker's own defaults (`TURN_URL`, then `TURN_REDIS_URL`, then
 * `REDIS_URL`, then `redis://localhost:6379/0`).
 *
 * @module
 */

import type { FlagSpecs, ParsedArgs } from "./args.ts";
import { UsageError } from "./errors.ts";
import type { LockerOptions } from "../../mod.ts";

/**
 * The connection flags every command accepts.
 *
 * @example Usage
 * ```ts
 * import { CONNECTION_FLAGS } from "./connection.ts";
 * console.log(Object.keys(CONNECTION_FLAGS));
 * ```
 */
export const CONNECTION_FLAGS: FlagSpecs = {
  url: {
    type: "string",
    value: "URL",
    description:
      "Redis URL, redis:// or rediss:// (TLS), or a directory for the file backend (one host, no server), e.g. --url redis://cache:6379/2 or --url file:///var/lock/turn",
  },
  host: {
    type: "string",
    value: "HOST",
    description: "Redis host (default localhost), e.g. --host cache.internal",
  },
  port: {
    type: "string",
    value: "PORT",
    description: "Redis port (default 6379), e.g. --port 6380",
  },
  db: {
    type: "string",
    value: "DB",
    description: "Redis database number (default 0), e.g. --db 2",
  },
  password: {
    type: "string",
    value: "PASSWORD",
    description:
      "Redis password; visible in `ps`, prefer TURN_REDIS_URL=redis://:PASSWORD@HOST",
  },
};

const TURN_1_FLAGS = ["host", "port", "db", "password"] as const;

/**
 * Turns the connection flags into Locker options. With none given, returns
 * `{}` so the Locker reads `TURN_URL` / `TURN_REDIS_URL` / `REDIS_URL` itself.
 *
 * @param args The parsed command line.
 * @returns Options for `new Locker()`.
 * @throws {UsageError} On a bad port or db, or `--url` mixed with turn 1.0's
 *   flags. (The Locker checks the URL itself.)
 *
 * @example Usage
 * ```ts
 * import { connectionOptions } from "./connection.ts";
 * import { parseFlags } from "./args.ts";
 * import { CONNECTION_FLAGS } from "./connection.ts";
 * const args = parseFlags(["--port", "6380"], CONNECTION_FLAGS, "turn --help");
 * console.log(connectionOptions(args)); // { host: "localhost", port: 6380, db: 0 }
 * ```
 */
export function connectionOptions(args: ParsedArgs): LockerOptions {
  const { url, host, port, db, password } = args.strings;
  const turn1 = TURN_1_FLAGS.filter((name) => name in args.strings);
  if (url !== undefined) {
    if (turn1.length > 0) {
      throw new UsageError(
        `--url cannot be combined with --host, --port, --db or --password: got --${
          turn1[0]
        }`,
      );
    }
    return { url };
  }
  if (turn1.length === 0) return {};
  return {
    host: host ?? "localhost",
    port: port === undefined ? 6379 : parsePort(port),
    db: db === undefined ? 0 : parseDb(db),
    ...(password === undefined ? {} : { password }),
  };
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (port >= 1 && port <= 65535) return port;
  throw new UsageError(
    `--port must be a whole number from 1 to 65535: got "${text}"`,
  );
}

function parseDb(text: string): number {
  if (/^\d{1,9}$/.test(text)) return Number(text);
  throw new UsageError(`--db must be a whole number from 0: got "${text}"`);
}
