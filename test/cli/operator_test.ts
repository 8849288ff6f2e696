/**
 * What flock and cron users expect from `turn run` and `turn lock`:
 * `-n`, `-E`, `--timeout 0`, the turn in the command's environment,
 * `--quiet`, progress lines only when they change, `--version`, and
 * durations reported in the unit they were given in.
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { BACKENDS, waitFor, within } from "../support/helpers.ts";
import { cliDomain, dropPresence, runCli, spawnCli } from "../support/cli.ts";
import { startRedis } from "../../support/redis_server.ts";

const BUSY =
  'turn: --nonblock: the turn is not free now (someone holds or waits) on one of "printer"\n';

for (const backend of BACKENDS) {
  Deno.test(`turn run and lock (${backend}): -n, --timeout 0 and -E fail at once when busy, without running anything`, async () => {
    await using where = await cliDomain(backend);
    await using locker = new Locker({ url: where.url });
    const held = await locker.lock("printer", { label: "holder" });
    const ran = ["--", "echo", "ran"];
    for (
      const [flags, code] of [
        [["-n"], 75],
        [["--nonblock"], 75],
        [["--timeout", "0"], 75],
        [["--timeout", "0s"], 75],
        [["-n", "-E", "0"], 0],
        [["--nonblock", "--conflict-exit-code", "9"], 9],
      ] as const
    ) {
      deepStrictEqual(await where.run(["run", ...flags, "printer", ...ran]), {
        code,
        stdout: "",
        stderr: BUSY,
      });
      deepStrictEqual(await where.run(["lock", ...flags, "printer"]), {
        code,
        stdout: "",
        stderr: BUSY,
      });
    }
    // Nobody else was queued meanwhile: the holder is alone.
    const [status] = await locker.status(["printer"]);
    deepStrictEqual(status.users.map((user) => user.label), ["holder"]);
    await held.release();
    deepStrictEqual(await where.run(["run", "-n", "printer", ...ran]), {
      code: 0,
      stdout: "ran\n",
      stderr: "",
    });
  });

  Deno.test(`turn run (${backend}): the command finds its turn in TURN_RESOURCE, TURN_NUMBER and TURN_LABEL`, async () => {
    await using where = await cliDomain(backend);
    await using locker = new Locker({ url: where.url });
    const show =
      'printf "%s|%s|%s\\n" "$TURN_RESOURCE" "$TURN_NUMBER" "$TURN_LABEL"';
    // Behind a holder, so that its number is 2.
    const holder = await locker.lock("scanner", { label: "holder" });
    const run = where.run(["run", "-q", "scanner", "--", "sh", "-c", show]);
    await waitFor(
      async () => (await locker.status(["scanner"]))[0].users.length === 2,
      "the run in the queue",
    );
    await holder.release();
    deepStrictEqual(await run, {
      code: 0,
      // The default label is the command line, quoted as typed.
      stdout: `scanner|2|sh -c '${show}'\n`,
      stderr: "",
    });
    deepStrictEqual(
      await where.run([
        "run",
        "--label",
        "nightly",
        "scanner",
        "printer",
        "--",
        "sh",
        "-c",
        show,
      ]),
      { code: 0, stdout: "printer\nscanner|1\n1|nightly\n", stderr: "" },
    );
  });
}

Deno.test("turn run --quiet prints no progress; without it, never the same line twice", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const holder = await locker.lock("printer", { label: "holder" });
  const cli = (quiet: boolean, what: string) =>
    spawnCli([
      "run",
      ...(quiet ? ["--quiet"] : []),
      "--expire",
      "1s",
      "--url",
      server.url,
      "printer",
      "--",
      "echo",
      what,
    ]);
  await using loud = cli(false, "loud ran");
  await loud.stderrHas("printer: waiting, 1 ahead\n");
  const a = locker.lock("printer", { label: "a" });
  const b = locker.lock("printer", { label: "b" });
  // Settled below; if the test fails first, closing the Locker rejects them.
  a.catch(() => {});
  b.catch(() => {});
  await waitFor(
    async () => (await locker.status(["printer"]))[0].users.length === 4,
    "a and b in the queue",
  );
  // Its presence lapses: it draws again at the back, and counts down anew.
  await dropPresence(server.url, "printer", 2);
  await loud.stderrHas("printer: waiting, 4 ahead\n");
  await using quiet = cli(true, "quiet ran");
  await holder.release();
  await loud.stderrHas("printer: waiting, 2 ahead\n");
  await (await a).release();
  await b;
  // Time to see "1 ahead" again, which it must not print twice.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await (await b).release();
  deepStrictEqual(await within(loud.result(), 30_000, "loud run"), {
    code: 0,
    stdout: "loud ran\n",
    stderr: "printer: waiting, 1 ahead\nprinter: waiting, 4 ahead\n" +
      "printer: waiting, 2 ahead\n",
  });
  deepStrictEqual(await within(quiet.result(), 30_000, "quiet run"), {
    code: 0,
    stdout: "quiet ran\n",
    stderr: "",
  });
});

Deno.test("durations are reported in the unit they were given in", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _held = await locker.lock("printer", { label: "holder" });
  for (const [typed, shown] of [["1s", "1s"], ["1500ms", "1500ms"]]) {
    const { code, stderr } = await runCli([
      "lock",
      "--quiet",
      "--timeout",
      typed,
      "--url",
      server.url,
      "printer",
    ]);
    deepStrictEqual({ code, stderr }, {
      code: 75,
      stderr:
        `turn: timed out after ${shown} waiting for "printer": 1 user(s) still ahead\n`,
    });
  }
});

Deno.test("turn --version prints the package's version", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  deepStrictEqual(await runCli(["--version"]), {
    code: 0,
    stdout: `turn ${config.version}\n`,
    stderr: "",
  });
});

Deno.test("turn --help names every environment variable the CLI reads, and what 69 covers", async () => {
  const { stdout } = await runCli(["--help"]);
  for (
    const name of [
      "TURN_URL",
      "TURN_REDIS_URL",
      "REDIS_URL",
      "TURN_REDIS_PASSWORD",
      "NO_COLOR",
      "TURN_RESOURCE",
      "TURN_NUMBER",
      "TURN_LABEL",
      "TURN_FENCE",
    ]
  ) {
    ok(new RegExp(`^  (?:\\S+, )*${name}\\b`, "m").test(stdout), name);
  }
  ok(
    /^ {2}69 {3}Redis unavailable: unreachable, authentication refused, or the database cannot be selected$/m
      .test(stdout),
  );
});

Deno.test("turn run printer -- says the command is missing", async () => {
  deepStrictEqual(await runCli(["run", "printer", "--"]), {
    code: 2,
    stdout: "",
    stderr:
      'turn: run needs a command after "--", e.g. turn run printer -- lp report.pdf: got nothing after "--"\n',
  });
});

for (const backend of BACKENDS) {
  Deno.test(`turn lock (${backend}) with no names says what it locks`, async () => {
    await using where = await cliDomain(backend);
    deepStrictEqual(await where.run(["lock"]), {
      code: 0,
      stdout: "",
      stderr: "turn: no resource named, and none exists: nothing to lock\n",
    });
    await using locker = new Locker({ url: where.url });
    await using _a = await locker.lock("scanner", { label: "x" });
    await using _b = await locker.lock("printer", { label: "y" });
    await using lock = where.spawn(["lock", "--quiet"]);
    await lock.stderrHas(
      'turn: no resource named: locking all 2 that exist: "printer", "scanner"\n',
    );
    await lock.stdoutHas("printer: acquiring\n");
    lock.kill("SIGTERM");
    deepStrictEqual(await within(lock.result(), 30_000, "lock"), {
      code: 130,
      stdout: "printer: acquiring\nprinter: canceled\n",
      stderr:
        'turn: no resource named: locking all 2 that exist: "printer", "scanner"\n',
    });
  });
}

Deno.test("turn run (file) refuses more resources than its command can hold locks for, and releases them", async () => {
  await using where = await cliDomain("file");
  const names = ["a", "b", "c", "d", "e", "f", "g", "h"];
  deepStrictEqual(await where.run(["run", ...names, "--", "echo", "ran"]), {
    code: 2,
    stdout: "",
    stderr:
      "turn: run holds at most 7 resources on the file backend (its command inherits a lock on each): got 8\n",
  });
  await using locker = new Locker({ url: where.url });
  deepStrictEqual(await locker.status(names), []);
  deepStrictEqual(
    await where.run(["run", ...names.slice(1), "--", "echo", "ran"]),
    { code: 0, stdout: "ran\n", stderr: "" },
  );
});

Deno.test("exit 69 covers what --help says: unreachable, authentication refused, a database that cannot be selected", async () => {
  await using server = await startRedis({ args: ["--requirepass", "secret"] });
  const port = `${server.port}`;
  for (
    const [args, says] of [
      [["--port", "1"], "connect ECONNREFUSED"],
      [["--port", port, "--password", "wrong"], "WRONGPASS"],
      [["--port", port, "--password", "secret", "--db", "99"], "DB index"],
    ] as const
  ) {
    const { code, stdout, stderr } = await runCli([...args, "status"]);
    deepStrictEqual({ code, stdout }, { code: 69, stdout: "" });
    ok(
      stderr.startsWith("turn: cannot connect to Redis at ") &&
        stderr.includes(says),
      stderr,
    );
  }
});
