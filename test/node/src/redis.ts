// A throwaway redis-server per test, like support/redis_server.ts does for the
// Deno tests: a free port on 127.0.0.1, a temp dir, nothing persisted.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const READY = "Ready to accept connections";
const START_TIMEOUT_MS = 10_000;

export interface RedisServer extends AsyncDisposable {
  readonly url: string;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "turn-node-redis-"));
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--logfile",
    "",
  ], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = once(child, "exit");
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server: ${log}`)),
      START_TIMEOUT_MS,
    );
    child.stdout.on("data", (chunk) => {
      log += chunk;
      if (log.includes(READY)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("error", reject);
    child.once("exit", () => reject(new Error(`redis-server exited: ${log}`)));
  });
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}/0`, [Symbol.asyncDispose]: stop };
}
