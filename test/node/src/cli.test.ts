// The `turn` command from the npm package's `bin`, run the way a Node user
// runs it: `npx turn ...`, and `turn` on PATH for the shell example.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Locker } from "@turn/turn";
import { startRedis } from "./redis.js";
import { PROJECT, REPO, run, succeeded, waitFor } from "./helpers.js";

const BIN = `${PROJECT}node_modules/.bin`;
const npxTurn = (args: readonly string[], url: string) =>
  run("npx", ["--no", "turn", ...args], { env: { TURN_REDIS_URL: url } });

test("npx turn status shows the holder and the waiter", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _held = await locker.lock("printer", { label: "report 42" });
  const waiting = locker.lock("printer", { label: "letter 7" });
  await waitFor(
    async () => (await locker.status(["printer"]))[0].users.length === 2,
    "a waiter queued",
  );
  const { stdout } = succeeded(
    await npxTurn(["status", "printer"], server.url),
  );
  assert.match(stdout, /report 42/);
  assert.match(stdout, /letter 7/);
  await _held.release();
  await (await waiting).release();
});

test("turn run passes the command's exit code through, and 127 when it is missing", async () => {
  await using server = await startRedis();
  const exited = await npxTurn(
    ["run", "printer", "--", "sh", "-c", "exit 3"],
    server.url,
  );
  assert.equal(exited.code, 3, exited.stderr);
  const missing = await npxTurn(
    ["run", "printer", "--", "no-such-command-x"],
    server.url,
  );
  assert.equal(missing.code, 127);
  assert.equal(
    missing.stderr,
    'turn: command not found: got "no-such-command-x"\n',
  );
});

test("turn run forwards SIGTERM to the command and exits 128 + 15", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const child = spawn(`${BIN}/turn`, [
    "run",
    "--label",
    "sleeper",
    "printer",
    "--",
    "sleep",
    "30",
  ], {
    env: { ...process.env, TURN_REDIS_URL: server.url },
    stdio: "ignore",
  });
  const exited = once(child, "exit");
  await waitFor(
    async () =>
      (await locker.status(["printer"]))[0]?.users[0]?.label === "sleeper",
    "turn run holding the printer",
  );
  child.kill("SIGTERM");
  const [code] = await exited;
  assert.equal(code, 143);
  assert.deepEqual(
    await locker.status(["printer"]),
    [],
    "the turn was released",
  );
});

test("turn reports an unreachable Redis in one line, exit 69", async () => {
  const { code, stderr } = await npxTurn(
    ["status", "printer"],
    "redis://127.0.0.1:1/0",
  );
  assert.equal(code, 69);
  assert.match(stderr, /^turn: .*127\.0\.0\.1:1.*\n$/);
});

test("examples/shell/counter.sh: jobs under turn run never lose an update", async () => {
  await using server = await startRedis();
  const { stdout } = succeeded(
    await run("bash", [`${REPO}examples/shell/counter.sh`], {
      env: { TURN_REDIS_URL: server.url, PATH: `${BIN}:${process.env.PATH}` },
    }),
  );
  assert.match(stdout, /counter: 8 \(expected 8\)/);
});

test("npm install -g puts turn on PATH (README, Install)", async () => {
  await using server = await startRedis();
  const prefix = await mkdtemp(join(tmpdir(), "turn-npm-global-"));
  try {
    succeeded(
      await run("npm", [
        "install",
        "-g",
        "--prefix",
        prefix,
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        `${REPO}build/turn.tgz`,
      ]),
    );
    const { stdout } = succeeded(
      await run(join(prefix, "bin", "turn"), ["status", "--json", "printer"], {
        env: { TURN_REDIS_URL: server.url },
      }),
    );
    assert.deepEqual(JSON.parse(stdout), []);
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
});

test("turn's output survives a slow reader and ends quietly when the reader goes", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  // Enough held resources that `turn status` prints more than a pipe holds.
  const names = Array.from({ length: 1500 }, (_, i) => `resource-${i}`);
  await using _held = await locker.lockAll(names, { label: "holder" });
  const env = { TURN_REDIS_URL: server.url, TURN: `${BIN}/turn`, NAMES: names.join(" ") };
  const direct = succeeded(await run("bash", ["-c", '"$TURN" status $NAMES | wc -c'], { env }));
  assert.ok(Number(direct.stdout) > 200_000, `only ${direct.stdout} bytes`);
  // Node makes a stdout pipe non-blocking: a full pipe must not fail.
  const slow = await run("bash", [
    "-c",
    '"$TURN" status $NAMES | (sleep 1; wc -c); exit ${PIPESTATUS[0]}',
  ], { env });
  assert.equal(slow.code, 0, slow.stderr);
  assert.equal(slow.stdout, direct.stdout);
  const closed = await run("bash", [
    "-c",
    '"$TURN" status $NAMES | head -1; exit ${PIPESTATUS[0]}',
  ], { env });
  assert.equal(closed.code, 141, closed.stderr);
  assert.equal(closed.stderr, "");
});
