import { deepStrictEqual } from "node:assert/strict";
import { Redis } from "ioredis";
import { Locker } from "../../mod.ts";
import { waitFor } from "../support/helpers.ts";
import { startRedis } from "../../support/redis_server.ts";
import { dropPresence, runCli, spawnCli, subscribed } from "../support/cli.ts";
import { resourceKeys } from "../../src/redis/keys.ts";

async function labels(locker: Locker, resource: string): Promise<string[]> {
  const [status] = await locker.status([resource]);
  return status?.users.map((user) => user.label) ?? [];
}

Deno.test("turn run exits with the command's exit code", async () => {
  await using server = await startRedis();
  for (const code of [0, 1, 7, 255]) {
    deepStrictEqual(
      await runCli([
        "run",
        "--url",
        server.url,
        "printer",
        "--",
        "sh",
        "-c",
        `exit ${code}`,
      ]),
      { code, stdout: "", stderr: "" },
    );
  }
});

Deno.test("turn run passes stdin, stdout and stderr through", async () => {
  await using server = await startRedis();
  deepStrictEqual(
    await runCli(
      [
        "run",
        "--port",
        `${server.port}`,
        "printer",
        "--",
        "sh",
        "-c",
        "cat; echo oops >&2",
      ],
      { stdin: "hello\nworld\n" },
    ),
    { code: 0, stdout: "hello\nworld\n", stderr: "oops\n" },
  );
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`turn run holds every resource (labelled with the command) while it runs and forwards ${signal}`, async () => {
    await using server = await startRedis();
    await using locker = new Locker({ url: server.url });
    const script = [
      `trap 'echo got ${signal}; exit 3' ${signal.slice(3)}`,
      "echo running",
      // The whole group gets the signal: keep the shell's report of the
      // killed sleep ("Terminated") out of stderr.
      "while :; do sleep 0.05; done 2>&-",
    ].join("\n");
    const command = ["sh", "-c", script];
    // Quoted as typed; the newlines of the script read as spaces.
    const label = `sh -c '${script.replaceAll("'", `'\\''`)}'`
      .replaceAll("\n", " ");
    await using run = spawnCli([
      "run",
      "--port",
      `${server.port}`,
      "scanner",
      "printer",
      "--",
      ...command,
    ]);
    await run.stdoutHas("running\n");
    deepStrictEqual(
      [await labels(locker, "printer"), await labels(locker, "scanner")],
      [[label], [label]],
    );
    run.kill(signal);
    deepStrictEqual(await run.result(), {
      code: 3,
      stdout: `running\ngot ${signal}\n`,
      stderr: "",
    });
    deepStrictEqual([
      await labels(locker, "printer"),
      await labels(locker, "scanner"),
    ], [[], []]);
  });
}

Deno.test("turn run: Ctrl-C while waiting cancels without running the command", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _held = await locker.lock("printer", { label: "holder" });
  await using run = spawnCli([
    "run",
    "--port",
    `${server.port}`,
    "printer",
    "--",
    "echo",
    "ran",
  ]);
  await run.stderrHas("printer: waiting, 1 ahead\n");
  run.kill("SIGINT");
  deepStrictEqual(await run.result(), {
    code: 130,
    stdout: "",
    stderr: "printer: waiting, 1 ahead\n",
  });
  deepStrictEqual(await labels(locker, "printer"), ["holder"]);
});

Deno.test("turn run --timeout exits 75 without running the command", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _held = await locker.lock("printer", { label: "holder" });
  deepStrictEqual(
    await runCli([
      "run",
      "--timeout",
      "200ms",
      "--port",
      `${server.port}`,
      "printer",
      "--",
      "echo",
      "ran",
    ]),
    {
      code: 75,
      stdout: "",
      stderr: "printer: waiting, 1 ahead\n" +
        'turn: timed out after 200ms waiting for "printer": 1 user(s) still ahead\n',
    },
  );
});

Deno.test("turn run exits 127 / 126 when the command cannot start, and releases", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  deepStrictEqual(
    await runCli([
      "run",
      "--port",
      `${server.port}`,
      "printer",
      "--",
      "no-such-command-here",
      "x",
    ]),
    {
      code: 127,
      stdout: "",
      stderr: 'turn: command not found: got "no-such-command-here"\n',
    },
  );
  deepStrictEqual(
    await runCli(["run", "--port", `${server.port}`, "printer", "--", "/"]),
    {
      code: 126,
      stdout: "",
      stderr: 'turn: command must be an executable file: got "/"\n',
    },
  );
  deepStrictEqual(await labels(locker, "printer"), []);
});

Deno.test("turn run announces completed for a command that exits 0, crashed! for one that fails, is killed or cannot start", async () => {
  await using server = await startRedis();
  await using follow = spawnCli(["follow", "--url", server.url, "printer"]);
  await subscribed(server.url, resourceKeys("printer").external);
  const commands = [
    ["sh", "-c", "exit 0"],
    ["sh", "-c", "exit 3"],
    ["sh", "-c", "kill -KILL $$"],
    ["no-such-command-here"],
  ];
  const codes = [];
  for (const command of commands) {
    const args = ["run", "--url", server.url, "printer", "--", ...command];
    codes.push((await runCli(args)).code);
  }
  deepStrictEqual(codes, [0, 3, 137, 127]);
  // An idle queue is removed, so each run is number 1 of a new queue.
  const cycle = (label: string, end: string) =>
    [
      `printer: 1 assigned to "${label}"`,
      "printer: 1 started (fence F)",
      `printer: 1 ${end}`,
      "printer: 2 granted",
    ].map((line) => `${line}\n`).join("");
  const lines = [
    cycle("sh -c 'exit 0'", `completed by "sh -c 'exit 0'"`),
    cycle("sh -c 'exit 3'", "crashed!"),
    cycle("sh -c 'kill -KILL $$'", "crashed!"),
    cycle("no-such-command-here", "crashed!"),
  ].join("");
  await follow.stdoutHas("printer: 2 granted\n", commands.length);
  follow.kill("SIGINT");
  const { code, stderr, stdout } = await follow.result();
  // Each run's fencing token is new; the lines around it are turn 1.0's.
  const fences = stdout.replace(/\(fence \d+\)/g, "(fence F)");
  deepStrictEqual({ code, stderr, stdout: fences }, {
    code: 0,
    stderr: "",
    stdout: lines,
  });
});

Deno.test("a crashed turn run hands the turn on at once", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const go = `${server.dir}/go`;
  await using run = spawnCli([
    "run",
    "--url",
    server.url,
    "printer",
    "--",
    "sh",
    "-c",
    'echo running; while [ ! -e "$1" ]; do sleep 0.05; done; exit 1',
    "sh",
    go,
  ]);
  await run.stdoutHas("running\n");
  // Patience far beyond the test's bound: only a hand-over serves it.
  const waiting = locker.lock("printer", { label: "next", patience: 600_000 });
  await waitFor(
    async () => (await labels(locker, "printer")).includes("next"),
    "the next user queued",
  );
  await Deno.writeTextFile(go, "");
  deepStrictEqual((await run.result()).code, 1);
  const lock = await waiting;
  deepStrictEqual(lock.number, 2);
  await lock.release();
});

Deno.test("concurrent turn run commands never overlap (witness counter)", async () => {
  await using server = await startRedis();
  const witness = `n=$(redis-cli -p ${server.port} incr inside); sleep 0.1; ` +
    `redis-cli -p ${server.port} decr inside >/dev/null; echo $n`;
  const results = await Promise.all(
    [1, 2, 3, 4].map(() =>
      runCli(["run", "--url", server.url, "printer", "--", "sh", "-c", witness])
    ),
  );
  deepStrictEqual(
    results.map(({ code, stdout, stderr }) => ({
      code,
      stdout,
      stderr: stderr.replace(/^printer: waiting, [1-3] ahead\n/gm, ""),
    })),
    Array(4).fill({ code: 0, stdout: "1\n", stderr: "" }),
  );
});

Deno.test("turn run stops the command and exits 70 when the turn is lost", async () => {
  await using server = await startRedis();
  const script = "echo running; while :; do sleep 0.05; done";
  await using run = spawnCli([
    "run",
    "--expire",
    "2s",
    "--port",
    `${server.port}`,
    "printer",
    "--",
    "sh",
    "-c",
    script,
  ]);
  await run.stdoutHas("running\n");
  await dropPresence(server.url, "printer", 1);
  deepStrictEqual(await run.result(), {
    code: 70,
    stdout: "running\n",
    stderr:
      'turn: lost the turn on "printer" (number 1): its presence expired or the indicator moved on\n',
  });
});

Deno.test("turn run never starts the command when a turn was lost while it waited for another", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const busy = await locker.lock("b", { label: "other" });
  await using run = spawnCli([
    "run",
    "--expire",
    "300ms",
    "--port",
    `${server.port}`,
    "a",
    "b",
    "--",
    "echo",
    "ran",
  ]);
  await waitFor(async () => (await labels(locker, "b")).length === 2, "b");
  await dropPresence(server.url, "a", 1);
  // Each heartbeat of the run is two scripts (poll b, renew a): four more
  // after the drop mean at least one renewal of a found it gone.
  const redis = new Redis(server.url);
  const scripts = async () =>
    Number(
      /cmdstat_evalsha:calls=(\d+)/.exec(await redis.info("commandstats"))
        ?.[1] ?? 0,
    );
  const dropped = await scripts();
  await waitFor(async () => await scripts() >= dropped + 4, "a heartbeat");
  redis.disconnect();
  await busy.release();
  const { code, stdout } = await run.result();
  deepStrictEqual({ code, stdout }, { code: 70, stdout: "" });
});

Deno.test("turn run on a terminal: a real Ctrl-C reaches the command, which decides", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const script = "trap 'echo got SIGINT; exit 3' INT; echo running; " +
    "while :; do sleep 0.05; done";
  await using run = spawnCli(
    ["run", "--port", `${server.port}`, "printer", "--", "sh", "-c", script],
    { terminal: true },
  );
  await run.stdoutHas("running\r\n");
  await run.type("\x03");
  const { code, stdout } = await run.result();
  deepStrictEqual(
    { code, stdout: stdout.replace("^C", "").replaceAll("\r\n", "\n") },
    { code: 3, stdout: "running\ngot SIGINT\n" },
  );
  deepStrictEqual(await labels(locker, "printer"), []);
});
