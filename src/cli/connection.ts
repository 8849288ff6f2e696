/**
 * Where the CLI takes turns: `--url` (Redis, or `file:` for the file
 * backend), `--cluster`, `--sentinels` with `--master`, or turn 1.0's
 * `--host --port --db --password`, or else the Locker's own defaults
 * (`TURN_URL`, then `TURN_REDIS_URL`, then `REDIS_URL`, then
 * `redis://localhost:6379/0`). Without `--password`, flags other than `--url`
 * take the password from `TURN_REDIS_PASSWORD`, which `ps` does not show.
 *
 * @module
 */

import type { FlagSpecs, ParsedArgs } from "./args.ts";
import { UsageError } from "./errors.ts";
import { readEnv } from "../connection.ts";
import type { LockerOptions, ServerAddress } from "../../mod.ts";

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
      "Redis password; visible in `ps`, prefer TURN_REDIS_PASSWORD, or TURN_REDIS_URL=redis://:PASSWORD@HOST",
  },
  cluster: {
    type: "string",
    value: "HOST:PORT,...",
    description:
      "Redis Cluster nodes to learn the cluster from (with --password), e.g. --cluster 10.0.0.1:7000,10.0.0.2:7000",
  },
  sentinels: {
    type: "string",
    value: "HOST:PORT,...",
    description:
      "Redis Sentinels to ask for the master named by --master (with --db, --password), e.g. --sentinels 10.0.0.1:26379,10.0.0.2:26379",
  },
  master: {
    type: "string",
    value: "NAME",
    description:
      "the master group the --sentinels monitor, e.g. --master mymaster",
  },
};

const TURN_1_FLAGS = ["host", "port", "db", "password"] as const;
const SCALE_OUT_FLAGS = ["cluster", "sentinels", "master"] as const;
const PASSWORD_VARIABLE = "TURN_REDIS_PASSWORD";

/**
 * Turns the connection flags into Locker options. With none given, returns
 * `{}` so the Locker reads `TURN_URL` / `TURN_REDIS_URL` / `REDIS_URL` itself.
 *
 * @param args The parsed command line.
 * @returns Options for `new Locker()`.
 * @throws {UsageError} On a bad port, db or address list, or flags that name
 *   the server twice (`--url` with any other, `--cluster` with `--host`).
 *   (The Locker checks the URL itself.)
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
  const { url, host, port, db } = args.strings;
  if (url !== undefined) {
    refuseAlong("--url", [...TURN_1_FLAGS, ...SCALE_OUT_FLAGS], args);
    return { url };
  }
  if (SCALE_OUT_FLAGS.some((name) => name in args.strings)) {
    return scaleOutOptions(args);
  }
  if (!TURN_1_FLAGS.some((name) => name in args.strings)) return {};
  return {
    host: host ?? "localhost",
    port: port === undefined ? 6379 : parsePort(port),
    db: db === undefined ? 0 : parseDb(db),
    ...password(args),
  };
}

/** The password flag, else TURN_REDIS_PASSWORD, which `ps` cannot show. */
function password(args: ParsedArgs): { password?: string } {
  const password = args.strings.password ?? readEnv(PASSWORD_VARIABLE);
  return password === undefined ? {} : { password };
}

function refuseAlong(
  flag: string,
  conflicting: readonly string[],
  args: ParsedArgs,
): void {
  const given = conflicting.find((name) => name in args.strings);
  if (given === undefined) return;
  const flags = conflicting.map((name) => `--${name}`);
  throw new UsageError(
    `${flag} cannot be combined with ${flags.slice(0, -1).join(", ")} or ${
      flags.at(-1)
    }: got --${given}`,
  );
}

// --cluster and --sentinels name the servers themselves.
function scaleOutOptions(args: ParsedArgs): LockerOptions {
  const { cluster, sentinels, master, db } = args.strings;
  if (cluster !== undefined) {
    refuseAlong(
      "--cluster",
      ["host", "port", "db", "sentinels", "master"],
      args,
    );
    return { cluster: parseAddresses("--cluster", cluster), ...password(args) };
  }
  if (sentinels === undefined || master === undefined) {
    throw new UsageError(
      `--sentinels and --master go together: got only --${
        sentinels === undefined ? "master" : "sentinels"
      }`,
    );
  }
  refuseAlong("--sentinels", ["host", "port"], args);
  if (master === "") {
    throw new UsageError(`--master must name the master group: got ""`);
  }
  return {
    sentinels: parseAddresses("--sentinels", sentinels),
    name: master,
    ...(db === undefined ? {} : { db: parseDb(db) }),
    ...password(args),
  };
}

function parseAddresses(flag: string, text: string): ServerAddress[] {
  return text.split(",").map((word) => {
    const [, host, portText] = /^\s*(\[[^\]\s]+\]|[^:[\]\s]+):(\S+?)\s*$/
      .exec(word) ?? [];
    const port = portText === undefined ? undefined : portOf(portText);
    if (port === undefined) {
      throw new UsageError(
        `${flag} takes HOST:PORT[,HOST:PORT...] with ports from 1 to 65535: got "${text}"`,
      );
    }
    return { host: host.replace(/^\[(.*)\]$/, "$1"), port };
  });
}

function portOf(text: string): number | undefined {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  return port >= 1 && port <= 65535 ? port : undefined;
}

function parsePort(text: string): number {
  const port = portOf(text);
  if (port !== undefined) return port;
  throw new UsageError(
    `--port must be a whole number from 1 to 65535: got "${text}"`,
  );
}

function parseDb(text: string): number {
  if (/^\d{1,9}$/.test(text)) return Number(text);
  throw new UsageError(`--db must be a whole number from 0: got "${text}"`);
}
