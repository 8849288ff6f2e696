/**
 * Runs `cli.ts` as a real subprocess with exactly the permissions the
 * documentation tells users to install it with.
 *
 * @module
 */

import { Redis } from "ioredis";
import { presenceKey, resourceKeys } from "../../src/redis/keys.ts";
import { type Backend, waitFor } from "./helpers.ts";
import { type RedisServer, startRedis } from "../../support/redis_server.ts";

/** The permission flags from docs/CLI.md; the tests use nothing more. */
export const CLI_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-env=TURN_URL,TURN_REDIS_URL,REDIS_URL,TURN_REDIS_PASSWORD",
  "--ignore-env",
  "--no-prompt",
  "--allow-run",
];

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const WAIT_MS = 20_000;
const HIDDEN_ENV = [
  "TURN_URL",
  "TURN_REDIS_URL",
  "REDIS_URL",
  "TURN_REDIS_PASSWORD",
  "NO_COLOR",
];

/** The permission flags docs/CLI.md gives for the file backend in `dir`. */
export function fileCliPermissions(dir: string): string[] {
  return [
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    ...CLI_PERMISSIONS.filter((flag) => flag !== "--allow-net"),
  ];
}

/** How to start the CLI. */
export interface CliOptions {
  /** Extra environment (TURN_URL, TURN_REDIS_URL, REDIS_URL and NO_COLOR are unset otherwise). */
  readonly env?: Record<string, string>;
  /** Deno permission flags, if not CLI_PERMISSIONS. */
  readonly permissions?: readonly string[];
  /** Text for its stdin; stdin is empty otherwise. */
  readonly stdin?: string;
  /**
   * Run it on a pseudo-terminal (through script(1)), so stdout is a TTY and
   * `type("\x03")` is a real Ctrl-C. Output then has `\r\n` line ends.
   */
  readonly terminal?: boolean;
}

/** How a CLI run ended. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running CLI whose output can be waited on. */
export interface CliProcess extends AsyncDisposable {
  readonly pid: number;
  /**
   * Resolves once stdout contains `text` (at least `times` times, default
   * once); rejects after a generous bound.
   */
  stdoutHas(text: string, times?: number): Promise<void>;
  /** Resolves once stderr contains `text`; rejects after a generous bound. */
  stderrHas(text: string): Promise<void>;
  /** Sends a signal. */
  kill(signal: Deno.Signal): void;
  /** With `terminal`, types on the terminal (`"\x03"` is Ctrl-C). */
  type(text: string): Promise<void>;
  /** Waits for the exit; resolves to the exit code and all output. */
  result(): Promise<CliResult>;
}

/** The command line that runs the CLI with `args`. */
export function cliCommandLine(
  args: readonly string[],
  permissions: readonly string[] = CLI_PERMISSIONS,
): string[] {
  return [Deno.execPath(), "run", "--quiet", ...permissions, CLI, ...args];
}

/** The same, quoted for `sh -c`. */
export function cliShellLine(
  args: readonly string[],
  permissions?: readonly string[],
): string {
  return cliCommandLine(args, permissions)
    .map((word) => `'${word.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

/** Runs the CLI to completion. */
export async function runCli(
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  await using cli = spawnCli(args, options);
  return await cli.result();
}

/** Starts the CLI; dispose to kill it if it is still running. */
export function spawnCli(
  args: readonly string[],
  options: CliOptions = {},
): CliProcess {
  const env = Deno.env.toObject();
  for (const name of HIDDEN_ENV) delete env[name];
  const [program, ...programArgs] = options.terminal
    ? [
      "script",
      "-q",
      "-e",
      "-c",
      // exec: script(1) runs the line with $SHELL, and a shell that stays
      // as the parent (dash does) dies of the Ctrl-C and hides the CLI's code.
      `exec ${cliShellLine(args, options.permissions)}`,
      "/dev/null",
    ]
    : cliCommandLine(args, options.permissions);
  const child = new Deno.Command(program, {
    args: programArgs,
    clearEnv: true,
    env: { ...env, ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const type = (text: string) => writer.write(new TextEncoder().encode(text));
  const stdin = type(options.stdin ?? "")
    .then(() => options.terminal ? child.status : undefined)
    .then(() => writer.close()).catch(() => {});
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  const result = (async () => {
    const [{ code }, out, err] = await Promise.all([
      child.status,
      stdout.done,
      stderr.done,
      stdin,
    ]);
    return { code, stdout: out, stderr: err };
  })();
  return {
    pid: child.pid,
    stdoutHas: (text, times = 1) =>
      stdout.has(text, () => describe("stdout", stdout), times),
    stderrHas: (text) => stderr.has(text, () => describe("stderr", stderr)),
    kill: (signal) => child.kill(signal),
    type,
    result: () => result,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await result;
    },
  };
}

interface Collected {
  readonly text: () => string;
  readonly done: Promise<string>;
  has(text: string, explain: () => string, times?: number): Promise<void>;
}

function collect(stream: ReadableStream<Uint8Array>): Collected {
  let text = "";
  let ended = false;
  const waiters = new Set<() => void>();
  const done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      for (const waiter of waiters) waiter();
    }
    ended = true;
    for (const waiter of waiters) waiter();
    return text;
  })();
  return {
    text: () => text,
    done,
    has(wanted, explain, times = 1) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => settle(false), WAIT_MS);
        const check = () => {
          if (text.split(wanted).length > times) settle(true);
          else if (ended) settle(false);
        };
        const settle = (found: boolean) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (found) return resolve();
          const seen = JSON.stringify(wanted);
          reject(new Error(`never saw ${seen}; ${explain()}`));
        };
        waiters.add(check);
        check();
      });
    },
  };
}

function describe(name: string, collected: Collected): string {
  return `${name} so far: ${JSON.stringify(collected.text())}`;
}

/**
 * Resolves once `count` clients listen on `channel` (or, for a name with a
 * `*`, on that pattern), polling Redis's own counters.
 */
export async function subscribed(
  url: string,
  channel: string,
  count = 1,
): Promise<void> {
  const redis = new Redis(url);
  try {
    await waitFor(
      async () => (await listeners(redis, channel)) >= count,
      `${count} listener(s) on ${channel}`,
      WAIT_MS,
    );
  } finally {
    redis.disconnect();
  }
}

async function listeners(redis: Redis, channel: string): Promise<number> {
  if (channel.includes("*")) return Number(await redis.pubsub("NUMPAT"));
  const [, n] = await redis.pubsub("NUMSUB", channel) as [string, number];
  return Number(n);
}

/** Deletes a user's presence key, as if it had lapsed: its lease is lost. */
export async function dropPresence(
  url: string,
  resource: string,
  number: number,
): Promise<void> {
  const redis = new Redis(url);
  try {
    await redis.del(presenceKey(resourceKeys(resource), number));
  } finally {
    redis.disconnect();
  }
}

/** Where a test's CLI runs take their turns: one backend, fresh. */
export interface CliDomain extends AsyncDisposable {
  /** The URL that names it (`--url`, or a Locker's `url`). */
  readonly url: string;
  /** The Deno permissions docs/CLI.md gives for it. */
  readonly permissions: readonly string[];
  /** The Redis server (Redis backend only). */
  readonly server?: RedisServer;
  /** Runs the CLI there to completion. */
  run(args: readonly string[]): Promise<CliResult>;
  /** Starts the CLI there. */
  spawn(args: readonly string[]): CliProcess;
}

/**
 * A fresh lock domain on `backend`: a throwaway redis-server, or a
 * temporary directory for the file backend.
 */
export async function cliDomain(backend: Backend): Promise<CliDomain> {
  const dir = await Deno.makeTempDir({ prefix: "turn-cli-domain-" });
  const server = backend === "redis" ? await startRedis() : undefined;
  const url = server?.url ?? `file://${dir}`;
  const permissions = server ? CLI_PERMISSIONS : fileCliPermissions(dir);
  return {
    url,
    permissions,
    server,
    run: (args) => runCli(["--url", url, ...args], { permissions }),
    spawn: (args) => spawnCli(["--url", url, ...args], { permissions }),
    async [Symbol.asyncDispose]() {
      await server?.[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
