/**
 * Where the CLI takes turns: `--url` (Redis, or `file:` for the file
 * backend), `--cluster`, `--sentinels` with `--master`, or turn 1.0's
 * `--host --port --db --password`, or else the Locker's own defaults
 * (`TURN_URL`, then `TURN_REDIS_URL`, then `REDIS_URL`, then
 * `redis://localhost:6379/0`). Without `--password`, flags other than `--url`
 * take the password from `TURN_REDIS_PASSWORD`, which `ps` does not show.
 * `--username`, `--tls` and `--tls-ca` go with `--host`, `--cluster` and
 * `--sentinels` alike (`--tls-ca` with a `rediss://` URL too). The checks of
 * ports, database numbers and user names are the library's; this module
 * only puts the flags' names in their messages.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import type { FlagSpecs, ParsedArgs } from "./parse.ts";
import { UsageError } from "../errors.ts";
import { readEnv } from "../../redis/url.ts";
import { planConnection } from "../../redis/options.ts";
import { dbFromText, portFromText } from "../../validate.ts";
import type { LockerOptions, ServerAddress } from "../../../mod.ts";

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
  username: {
    type: "string",
    value: "USER",
    description:
      "Redis ACL user (with --host, --cluster or --sentinels), e.g. --username turn",
  },
  tls: {
    type: "boolean",
    description:
      "connect with TLS (with --host, --cluster or --sentinels; a URL says so with rediss://), e.g. --host cache --tls",
  },
  "tls-ca": {
    type: "string",
    value: "FILE",
    description:
      "trust the CA certificate in FILE (PEM) for TLS; implies --tls, works with a rediss:// URL too, e.g. --tls-ca /etc/redis/ca.pem",
  },
  cluster: {
    type: "string",
    value: "HOST:PORT,...",
    description:
      "Redis Cluster nodes to learn the cluster from (with --username, --password, --tls, --tls-ca), e.g. --cluster 10.0.0.1:7000,10.0.0.2:7000",
  },
  sentinels: {
    type: "string",
    value: "HOST:PORT,...",
    description:
      "Redis Sentinels to ask for the master named by --master (with --db, --username, --password, --tls, --tls-ca), e.g. --sentinels 10.0.0.1:26379,10.0.0.2:26379",
  },
  master: {
    type: "string",
    value: "NAME",
    description:
      "the master group the --sentinels monitor, e.g. --master mymaster",
  },
};

const TURN_1_FLAGS = ["host", "port", "db", "password", "username"] as const;
const SCALE_OUT_FLAGS = ["cluster", "sentinels", "master"] as const;
const PASSWORD_VARIABLE = "TURN_REDIS_PASSWORD";

/** Library option names as the flags that set them, for its messages. */
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  host: "--host",
  username: "--username",
  name: "--master",
};

/**
 * Turns the connection flags into Locker options. With none given, returns
 * `{}` so the Locker reads `TURN_URL` / `TURN_REDIS_URL` / `REDIS_URL` itself.
 *
 * @param args The parsed command line.
 * @returns Options for `new Locker()`.
 * @throws {UsageError} On a bad port, db, user name or address list, an
 *   unreadable CA file, or flags that name the server twice (`--url` with
 *   any other, `--cluster` with `--host`). (The Locker checks the URL
 *   itself.)
 *
 * @example Usage
 * ```ts
 * import { connectionOptions } from "./connection.ts";
 * import { parseFlags } from "./parse.ts";
 * import { CONNECTION_FLAGS } from "./connection.ts";
 * const args = parseFlags(["--port", "6380"], CONNECTION_FLAGS, "turn --help");
 * console.log(connectionOptions(args)); // { host: "localhost", port: 6380, db: 0 }
 * ```
 */
export function connectionOptions(args: ParsedArgs): LockerOptions {
  const options = serverOptions(args);
  // With none, or with a URL, the Locker checks (and picks the backend).
  if (Object.keys(options).length === 0 || options.url) return options;
  try {
    planConnection(options);
  } catch (error) {
    throw new UsageError(withFlagNames((error as Error).message));
  }
  return options;
}

function serverOptions(args: ParsedArgs): LockerOptions {
  const { url, host, port, db } = args.strings;
  if (url !== undefined) {
    refuseAlong(
      "--url",
      [...TURN_1_FLAGS, ...SCALE_OUT_FLAGS, "tls"],
      args,
    );
    return { url, ...tlsCa(args) };
  }
  if (SCALE_OUT_FLAGS.some((name) => name in args.strings)) {
    return scaleOutOptions(args);
  }
  const tls = tlsOptions(args);
  if (!TURN_1_FLAGS.some((name) => name in args.strings) && !tls.tls) {
    return {};
  }
  return {
    host: host ?? "localhost",
    port: port === undefined ? 6379 : flagValue(portFromText, port, "--port"),
    db: db === undefined ? 0 : flagValue(dbFromText, db, "--db"),
    ...credentials(args),
    ...tls,
  };
}

/** `read(text, flag)`, its error a UsageError. */
function flagValue<T>(
  read: (text: string, flag: string) => T,
  text: string,
  flag: string,
): T {
  try {
    return read(text, flag);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A library message about an option, about its flag instead. */
function withFlagNames(message: string): string {
  return message.replace(
    /^(\w+)(?= must)/,
    (name) => FLAG_OF_OPTION[name] ?? name,
  );
}

/**
 * `--username`, and the password flag, else TURN_REDIS_PASSWORD, which `ps`
 * cannot show.
 */
function credentials(
  args: ParsedArgs,
): { username?: string; password?: string } {
  const { username } = args.strings;
  const password = args.strings.password ?? readEnv(PASSWORD_VARIABLE);
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

/** `--tls`, or `--tls-ca` (which implies it). */
function tlsOptions(args: ParsedArgs): { tls?: true | { ca: string } } {
  const withCa = tlsCa(args);
  if (withCa.tls) return withCa;
  return args.switches.has("tls") ? { tls: true } : {};
}

/** The CA of `--tls-ca`, read from its file. */
function tlsCa(args: ParsedArgs): { tls?: { ca: string } } {
  const file = args.strings["tls-ca"];
  if (file === undefined) return {};
  try {
    return { tls: { ca: readFileSync(file, "utf8") } };
  } catch (error) {
    const denied = (error as Error).name === "NotCapable" ||
      (error as Error).name === "PermissionDenied";
    throw new UsageError(
      `--tls-ca must name a readable PEM file: got ${JSON.stringify(file)} (${
        denied
          ? `no permission to read it: install turn with --allow-read=${file}, or set DENO_CERT=${file} instead of --tls-ca`
          : (error as Error).message
      })`,
    );
  }
}

function refuseAlong(
  flag: string,
  conflicting: readonly string[],
  args: ParsedArgs,
): void {
  const given = conflicting.find((name) =>
    name in args.strings || args.switches.has(name)
  );
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
    return {
      cluster: parseAddresses("--cluster", cluster),
      ...credentials(args),
      ...tlsOptions(args),
    };
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
    ...(db === undefined ? {} : { db: flagValue(dbFromText, db, "--db") }),
    ...credentials(args),
    ...tlsOptions(args),
  };
}

function parseAddresses(flag: string, text: string): ServerAddress[] {
  return text.split(",").map((word) => {
    const [, host, portText] = /^\s*(\[[^\]\s]+\]|[^:[\]\s]+):(\S+?)\s*$/
      .exec(word) ?? [];
    try {
      return {
        host: host.replace(/^\[(.*)\]$/, "$1"),
        port: portFromText(portText ?? ""),
      };
    } catch {
      throw new UsageError(
        `${flag} takes HOST:PORT[,HOST:PORT...] with ports from 1 to 65535: got "${text}"`,
      );
    }
  });
}
