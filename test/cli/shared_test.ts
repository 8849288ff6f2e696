import assert from "node:assert/strict";
import { BACKENDS } from "../support/helpers.ts";
import { cliDomain, runCli } from "../support/cli.ts";

const HOLD = ["sh", "-c", "echo in; exec sleep 60"];

for (const backend of BACKENDS) {
  Deno.test(`turn run --capacity 2 lets two hold, finds a third busy, and status shows the places [${backend}]`, async () => {
    await using domain = await cliDomain(backend);
    await using a = domain.spawn([
      "run",
      "--capacity",
      "2",
      "--label",
      "a",
      "gpu",
      "--",
      ...HOLD,
    ]);
    await a.stdoutHas("in\n");
    await using b = domain.spawn([
      "run",
      "--capacity",
      "2",
      "--label",
      "b",
      "gpu",
      "--",
      ...HOLD,
    ]);
    await b.stdoutHas("in\n");
    const busy = await domain.run([
      "run",
      "--capacity",
      "2",
      "--nonblock",
      "gpu",
      "--",
      "true",
    ]);
    assert.equal(busy.code, 75, busy.stderr);
    const status = await domain.run(["status", "gpu"]);
    assert.equal(status.code, 0, status.stderr);
    const lines = status.stdout.split("\n");
    assert.equal(lines[2], "capacity 2: 2 holding, 0 places left");
    assert.match(lines[3], /^a \(holding\) +1$/);
    assert.match(lines[4], /^b \(holding\) +2$/);
    const json = JSON.parse(
      (await domain.run(["status", "--json", "gpu"])).stdout,
    );
    assert.deepEqual(json[0].places, {
      capacity: 2,
      holders: 2,
      placesLeft: 0,
    });
    assert.deepEqual(
      json[0].users.map((u: { kind: string; holding: boolean }) => [
        u.kind,
        u.holding,
      ]),
      [["shared", true], ["shared", true]],
    );
    // Another capacity is refused, naming both, while the resource is in use.
    const other = await domain.run([
      "run",
      "--capacity",
      "3",
      "gpu",
      "--",
      "true",
    ]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /has capacity 2 .*asked for 3/);
    a.kill("SIGTERM");
    b.kill("SIGTERM");
    await a.result();
    await b.result();
  });

  Deno.test(`turn run --shared holds beside readers, --exclusive alone [${backend}]`, async () => {
    await using domain = await cliDomain(backend);
    await using reader = domain.spawn(["run", "--shared", "db", "--", ...HOLD]);
    await reader.stdoutHas("in\n");
    const second = await domain.run(["run", "--shared", "db", "--", "true"]);
    assert.equal(second.code, 0, second.stderr);
    const writer = await domain.run([
      "run",
      "--exclusive",
      "--nonblock",
      "db",
      "--",
      "true",
    ]);
    assert.equal(writer.code, 75, writer.stderr);
    const plain = await domain.run(["run", "db", "--", "true"]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /plain and shared turns cannot mix/);
    reader.kill("SIGTERM");
    await reader.result();
    const alone = await domain.run(["run", "--exclusive", "db", "--", "true"]);
    assert.equal(alone.code, 0, alone.stderr);
  });
}

Deno.test("--capacity and --shared are checked before anything is sent", async () => {
  for (
    const [args, message] of [
      [
        ["--capacity", "0"],
        '--capacity must be a whole number of places, at least 1: got "0"',
      ],
      [
        ["--capacity", "two"],
        '--capacity must be a whole number of places, at least 1: got "two"',
      ],
      [
        ["--shared", "--exclusive"],
        "--shared and --exclusive cannot be combined",
      ],
    ] as const
  ) {
    const result = await runCli([
      "run",
      "--url",
      "redis://127.0.0.1:1",
      ...args,
      "gpu",
      "--",
      "true",
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.ok(result.stderr.includes(message), result.stderr);
  }
});
