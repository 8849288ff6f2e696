// The permissions a library user needs, as INSTALL.md lists them: a Redis
// Locker needs --allow-env because ioredis reads the environment when it
// loads, and says so in one line of its own error class; the file backend
// never loads ioredis, so it needs no --allow-env at all.
import { deepEqual, equal } from "node:assert/strict";
import { fixture } from "./support/helpers.ts";
import { startRedis } from "../support/redis_server.ts";

async function takeTurn(
  flags: string[],
  url: string,
): Promise<{ code: number; lines: string[]; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      ...flags,
      fixture("take_turn.ts"),
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return { code, lines, stderr: new TextDecoder().decode(stderr) };
}

Deno.test("Redis without --allow-env: each call rejects with one ConnectionError line", async () => {
  await using server = await startRedis();
  const { port } = new URL(server.url);
  const refused = await takeTurn(["--allow-net"], server.url);
  equal(refused.code, 0, refused.stderr);
  const line =
    `ConnectionError: cannot connect to Redis at 127.0.0.1:${port}: the Redis client (ioredis) reads the environment when it loads: run with --allow-env`;
  deepEqual(refused.lines, [line, line]);
  equal(refused.stderr, "");
  const allowed = await takeTurn(["--allow-net", "--allow-env"], server.url);
  deepEqual(allowed.lines, ["held 1", "held 1"], allowed.stderr);
});

Deno.test("Redis with only the Locker's variables and --ignore-env", async () => {
  await using server = await startRedis();
  const flags = [
    "--allow-net",
    "--allow-env=TURN_URL,TURN_REDIS_URL,REDIS_URL",
    "--ignore-env",
  ];
  const { lines, stderr } = await takeTurn(flags, server.url);
  deepEqual(lines, ["held 1", "held 1"], stderr);
});

Deno.test("the file backend needs no --allow-env and no network", async () => {
  const dir = await Deno.makeTempDir({ prefix: "turn-permissions-" });
  try {
    const flags = [`--allow-read=${dir}`, `--allow-write=${dir}`];
    const { code, lines, stderr } = await takeTurn(flags, `file://${dir}`);
    equal(code, 0, stderr);
    deepEqual(lines, ["held 1", "held 1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
