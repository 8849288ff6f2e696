// Running processes and checking mutual exclusion with a witness in Redis.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";

/** The repository root (this file runs from test/node/dist/). */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
/** The Node test project, where `@turn/turn` is installed. */
export const PROJECT = fileURLToPath(new URL("../", import.meta.url));

export interface Output {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion, collecting its output. */
export function run(
  program: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd ?? PROJECT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => stdout += chunk);
    child.stderr.on("data", (chunk) => stderr += chunk);
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Fails with the output unless the program exited with 0. */
export function succeeded(output: Output): Output {
  if (output.code !== 0) {
    throw new Error(
      `exit code ${output.code}\n${output.stdout}${output.stderr}`,
    );
  }
  return output;
}

// Same keys and script as test/support/fixtures/hammer.ts: `witness:inside` counts
// who is in the critical section, `witness:max` keeps the highest count.
const RAISE_MAX =
  "if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or 0) then redis.call('SET', KEYS[1], ARGV[1]) end";

/** Runs `body` as a witness under `prefix`: it counts who else is inside. */
export async function witnessed<T>(
  redis: Redis,
  prefix: string,
  body: () => Promise<T>,
): Promise<T> {
  const inside = await redis.incr(`${prefix}:inside`);
  await redis.eval(RAISE_MAX, 1, `${prefix}:max`, inside);
  try {
    return await body();
  } finally {
    await redis.decr(`${prefix}:inside`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 20 ms until it holds; fails after a generous bound. */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  ms = 30_000,
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}
