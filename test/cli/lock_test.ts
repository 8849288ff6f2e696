import { deepStrictEqual } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { freePort, startRedis } from "../../support/redis_server.ts";
import { dropPresence, spawnCli } from "../support/cli.ts";
import { turn1Lock } from "../../support/turn1_client.ts";

function lines(...texts: string[]): string {
  return texts.map((text) => `${text}\n`).join("");
}

async function labels(locker: Locker, resource: string): Promise<string[]> {
  const [status] = await locker.status([resource]);
  return status?.users.map((user) => user.label) ?? [];
}

Deno.test("turn lock holds until Ctrl-C, then prints released", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using lock = spawnCli(["lock", "--port", `${server.port}`, "printer"]);
  await lock.stdoutHas("printer: locked\n");
  deepStrictEqual(await labels(locker, "printer"), ["lock tool"]);
  lock.kill("SIGINT");
  deepStrictEqual(await lock.result(), {
    code: 0,
    stderr: "",
    stdout: lines("printer: acquiring", "printer: locked", "printer: released"),
  });
  deepStrictEqual(await labels(locker, "printer"), []);
});

Deno.test("turn lock shows the users ahead as the queue moves", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const first = await locker.lock("printer", { label: "first" });
  const second = locker.lock("printer", { label: "second" });
  await using lock = spawnCli(["lock", "--url", server.url, "printer"]);
  await lock.stderrHas("printer: waiting, 2 ahead\n");
  await first.release();
  await lock.stderrHas("printer: waiting, 1 ahead\n");
  await (await second).release();
  await lock.stdoutHas("printer: locked\n");
  lock.kill("SIGTERM");
  deepStrictEqual(await lock.result(), {
    code: 0,
    stderr: lines("printer: waiting, 2 ahead", "printer: waiting, 1 ahead"),
    stdout: lines("printer: acquiring", "printer: locked", "printer: released"),
  });
});

Deno.test("turn lock: Ctrl-C while waiting prints canceled and leaves the queue", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _held = await locker.lock("printer", { label: "holder" });
  await using lock = spawnCli(["lock", "--port", `${server.port}`, "printer"]);
  await lock.stderrHas("printer: waiting, 1 ahead\n");
  deepStrictEqual(await labels(locker, "printer"), ["holder", "lock tool"]);
  lock.kill("SIGINT");
  deepStrictEqual(await lock.result(), {
    code: 130,
    stderr: lines("printer: waiting, 1 ahead"),
    stdout: lines("printer: acquiring", "printer: canceled"),
  });
  deepStrictEqual(await labels(locker, "printer"), ["holder"]);
});

Deno.test("turn lock C A B acquires in sorted order and releases in reverse", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const b = await locker.lock("B", { label: "holder" });
  await using lock = spawnCli([
    "lock",
    "--port",
    `${server.port}`,
    "C",
    "A",
    "B",
  ]);
  await lock.stderrHas("B: waiting, 1 ahead\n");
  deepStrictEqual(
    [await labels(locker, "A"), await labels(locker, "C")],
    [["lock tool"], []],
  );
  await b.release();
  await lock.stdoutHas("C: locked\n");
  lock.kill("SIGINT");
  deepStrictEqual(await lock.result(), {
    code: 0,
    stderr: lines("B: waiting, 1 ahead"),
    stdout: lines(
      ...["A", "B", "C"].flatMap((r) => [`${r}: acquiring`, `${r}: locked`]),
      "C: released",
      "B: released",
      "A: released",
    ),
  });
});

Deno.test("turn lock A B: Ctrl-C while waiting for B cancels B and releases A", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _b = await locker.lock("B", { label: "holder" });
  await using lock = spawnCli(["lock", "--port", `${server.port}`, "B", "A"]);
  await lock.stderrHas("B: waiting, 1 ahead\n");
  lock.kill("SIGINT");
  deepStrictEqual(await lock.result(), {
    code: 130,
    stderr: lines("B: waiting, 1 ahead"),
    stdout: lines(
      "A: acquiring",
      "A: locked",
      "B: acquiring",
      "B: canceled",
      "A: released",
    ),
  });
  deepStrictEqual(await labels(locker, "A"), []);
});

Deno.test("turn lock --timeout gives up with exit code 75", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _held = await locker.lock("printer", { label: "holder" });
  await using lock = spawnCli([
    "lock",
    "--timeout",
    "300ms",
    "--label",
    "impatient",
    "--port",
    `${server.port}`,
    "printer",
  ]);
  deepStrictEqual(await lock.result(), {
    code: 75,
    stderr: lines(
      "printer: waiting, 1 ahead",
      'turn: timed out after 300ms waiting for "printer": 1 user(s) still ahead',
    ),
    stdout: lines("printer: acquiring", "printer: canceled"),
  });
});

Deno.test("turn lock --timeout on an unreachable Redis says Redis could not be reached", async () => {
  const port = freePort();
  await using lock = spawnCli([
    "lock",
    "--timeout",
    "500ms",
    "--url",
    `redis://127.0.0.1:${port}`,
    "printer",
  ]);
  const address = `127.0.0.1:${port}`;
  deepStrictEqual(await lock.result(), {
    code: 75,
    stderr: lines(
      `turn: timed out after 500ms waiting for "printer": Redis at ${address} could not be reached during the wait (last error: connect ECONNREFUSED ${address})`,
    ),
    stdout: lines("printer: acquiring", "printer: canceled"),
  });
});

Deno.test("turn lock on a terminal: a real Ctrl-C releases", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using lock = spawnCli(["lock", "--port", `${server.port}`, "printer"], {
    terminal: true,
  });
  await lock.stdoutHas("printer: locked\r\n");
  await lock.type("\x03");
  const { code, stdout } = await lock.result();
  deepStrictEqual(
    { code, stdout: stdout.replaceAll("\r\n", "\n").replace("^C", "") },
    {
      code: 0,
      stdout: lines(
        "printer: acquiring",
        "printer: locked",
        "printer: released",
      ),
    },
  );
  deepStrictEqual(await labels(locker, "printer"), []);
});

Deno.test("turn lock takes turns with a turn 1.0 client", async () => {
  await using server = await startRedis();
  const python = await turn1Lock(server.port, "printer", "python");
  try {
    await python.started;
    await using lock = spawnCli([
      "lock",
      "--port",
      `${server.port}`,
      "printer",
    ]);
    await lock.stderrHas("printer: waiting, 1 ahead\n");
    await python.complete();
    await lock.stdoutHas("printer: locked\n");
    lock.kill("SIGINT");
    deepStrictEqual(await lock.result(), {
      code: 0,
      stderr: lines("printer: waiting, 1 ahead"),
      stdout: lines(
        "printer: acquiring",
        "printer: locked",
        "printer: released",
      ),
    });
  } finally {
    python.close();
  }
});

Deno.test("turn lock exits 70 when a held turn is lost", async () => {
  await using server = await startRedis();
  await using lock = spawnCli([
    "lock",
    "--expire",
    "2s",
    "--port",
    `${server.port}`,
    "printer",
  ]);
  await lock.stdoutHas("printer: locked\n");
  await dropPresence(server.url, "printer", 1);
  deepStrictEqual(await lock.result(), {
    code: 70,
    stderr:
      'turn: lost the turn on "printer" (number 1): its presence expired or the indicator moved on\n',
    stdout: lines("printer: acquiring", "printer: locked", "printer: released"),
  });
});

Deno.test("two turn lock over the same resources in opposite orders never deadlock", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const held = [await locker.lock("A"), await locker.lock("B")];
  const flags = ["--port", `${server.port}`];
  await using first = spawnCli(["lock", ...flags, "B", "A"]);
  await first.stderrHas("A: waiting, 1 ahead\n");
  await using second = spawnCli(["lock", ...flags, "A", "B"]);
  await second.stderrHas("A: waiting, 2 ahead\n");
  for (const lock of held) await lock.release();
  await first.stdoutHas("B: locked\n");
  first.kill("SIGINT");
  await second.stdoutHas("B: locked\n");
  second.kill("SIGINT");
  const both = lines(
    ...["A", "B"].flatMap((r) => [`${r}: acquiring`, `${r}: locked`]),
    "B: released",
    "A: released",
  );
  for (const lock of [first, second]) {
    const { code, stdout } = await lock.result();
    deepStrictEqual({ code, stdout }, { code: 0, stdout: both });
  }
});
