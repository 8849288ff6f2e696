/**
 * Throwaway redis-server processes for tests and benchmarks: each on a free
 * port, in its own temp dir, with nothing persisted unless asked (`aofDir`).
 * Never touches 6379.
 *
 * @module
 */

/** Options for {@linkcode startRedis}. */
export interface RedisServerOptions {
  /** Extra command-line arguments, e.g. `["--requirepass", "secret"]`. */
  readonly args?: readonly string[];
  /** Use this port instead of a free one (to restart a server in place). */
  readonly port?: number;
  /** Lines of a config file written to the temp dir and loaded first. */
  readonly config?: readonly string[];
  /** Run as a Redis Sentinel (needs `config` with a `sentinel monitor`). */
  readonly sentinel?: boolean;
  /**
   * Persist every write to an append-only file (`appendfsync always`) in
   * this directory, which outlives the server: a server started again on
   * it loads what the last one wrote. The caller removes it.
   */
  readonly aofDir?: string;
}

/** A running throwaway redis-server. */
export interface RedisServer extends AsyncDisposable {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly process: Deno.ChildProcess;
  /** Stops the server (SIGTERM by default) and waits for it to exit. */
  stop(signal?: Deno.Signal): Promise<void>;
}

const READY = "Ready to accept connections";
// A sentinel never says it is ready; it is once it monitors its master.
const SENTINEL_READY = "+monitor master";
const START_TIMEOUT_MS = 10_000;

/** Asks the OS for a port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts a redis-server and resolves once it accepts connections. */
export async function startRedis(
  options: RedisServerOptions = {},
): Promise<RedisServer> {
  for (let attempt = 0;; attempt++) {
    try {
      return await spawnOnce(options.port ?? freePort(), options);
    } catch (error) {
      const portClash = String(error).includes("Address already in use");
      if (!portClash || options.port !== undefined || attempt >= 5) throw error;
    }
  }
}

async function spawnOnce(
  port: number,
  { args = [], config, sentinel = false, aofDir }: RedisServerOptions,
): Promise<RedisServer> {
  const dir = aofDir ?? await Deno.makeTempDir({ prefix: "turn-redis-" });
  const removeDir = () =>
    aofDir ? Promise.resolve() : Deno.remove(dir, { recursive: true });
  const persistence = aofDir
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  const configFile = `${dir}/redis.conf`;
  if (config) await Deno.writeTextFile(configFile, config.join("\n") + "\n");
  let command: Deno.Command;
  try {
    command = new Deno.Command("redis-server", {
      args: [
        ...(config ? [configFile] : []),
        ...(sentinel ? ["--sentinel"] : []),
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        ...persistence,
        "--dir",
        dir,
        "--logfile",
        "",
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    });
  } catch (error) {
    throw new Error(`cannot run redis-server: ${error}`);
  }
  let child: Deno.ChildProcess;
  try {
    child = command.spawn();
  } catch (error) {
    await removeDir();
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        "redis-server is not installed: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)",
      );
    }
    throw error;
  }
  child.stderr.pipeTo(new WritableStream());
  const status = child.status;
  const log = await waitForReady(
    child.stdout,
    sentinel ? SENTINEL_READY : READY,
  );
  if (!log.ready) {
    await removeDir().catch(() => {});
    throw new Error(`redis-server on port ${port} did not start:\n${log.text}`);
  }
  let stopped: Promise<void> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") =>
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      await status;
      await removeDir().catch(() => {});
    })();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    dir,
    process: child,
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}

async function waitForReady(
  stdout: ReadableStream<Uint8Array>,
  marker: string,
): Promise<{ ready: boolean; text: string }> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => reader.cancel(), START_TIMEOUT_MS);
  try {
    while (!text.includes(marker)) {
      const { value, done } = await reader.read();
      if (done) return { ready: false, text };
      text += value;
    }
  } finally {
    clearTimeout(timer);
  }
  // Keep draining so the server never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* stream closed */ }
  })();
  return { ready: true, text };
}
