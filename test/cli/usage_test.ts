import { deepStrictEqual, ok } from "node:assert/strict";
import { freePort } from "../../support/redis_server.ts";
import { CLI_PERMISSIONS, fileCliPermissions, runCli } from "../support/cli.ts";

const COMMANDS = ["status", "follow", "reset", "lock", "run"];

function usageError(line: string) {
  return { code: 2, stdout: "", stderr: `turn: ${line}\n` };
}

Deno.test("turn --help lists every command and exits 0", async () => {
  const { code, stdout, stderr } = await runCli(["--help"]);
  deepStrictEqual({ code, stderr }, { code: 0, stderr: "" });
  ok(stdout.startsWith("turn: take turns on shared resources"));
  for (const command of COMMANDS) ok(stdout.includes(`\n  ${command} `));
  deepStrictEqual((await runCli(["help"])).stdout, stdout);
  deepStrictEqual((await runCli(["-h"])).stdout, stdout);
});

Deno.test("turn COMMAND --help describes each flag with an example", async () => {
  for (const command of COMMANDS) {
    const { code, stdout, stderr } = await runCli([command, "--help"]);
    deepStrictEqual({ code, stderr }, { code: 0, stderr: "" });
    ok(stdout.startsWith(`Usage: turn ${command}`), stdout);
    const flagLines = stdout.split("\n").filter((line) =>
      /^ {2}(-h, )?--/.test(line)
    );
    ok(flagLines.length >= 6, stdout);
    for (const line of flagLines) {
      ok(line.includes("e.g.") || line.includes("TURN_REDIS_URL"), line);
    }
    ok(stdout.includes("\nExamples:\n  turn "), stdout);
    deepStrictEqual((await runCli(["help", command])).stdout, stdout);
  }
});

Deno.test("a missing or unknown command is one line on stderr, exit 2", async () => {
  deepStrictEqual(
    await runCli([]),
    usageError(
      "a command is needed (one of status, follow, reset, lock, run, dashboard; see turn --help): got none",
    ),
  );
  deepStrictEqual(
    await runCli(["--port", "6390", "stat", "printer"]),
    usageError(
      'unknown command (one of status, follow, reset, lock, run, dashboard; see turn --help): got "stat"',
    ),
  );
  deepStrictEqual(
    await runCli(["help", "stat"]),
    usageError(
      'help is about a command (one of status, follow, reset, lock, run, dashboard; see turn --help): got "stat"',
    ),
  );
});

async function expectUsageErrors(
  cases: [string[], string, Record<string, string>?][],
) {
  for (const [args, line, env] of cases) {
    deepStrictEqual(await runCli(args, { env }), usageError(line));
  }
}

Deno.test("an unknown flag or a flag without its value is refused", async () => {
  await expectUsageErrors([
    [
      ["status", "--jsno", "printer"],
      'unknown flag (see turn status --help): got "--jsno"',
    ],
    [["reset", "--json"], 'unknown flag (see turn reset --help): got "--json"'],
    [["lock", "printer", "--label"], '--label needs a value: got "--label"'],
    [["follow", "--json=yes"], '--json takes no value: got "--json=yes"'],
    [
      ["status", "--json", "--watch"],
      "--json and --watch cannot be combined: got --json --watch",
    ],
  ]);
});

Deno.test("a bad duration, port, db, URL, name or label is refused before connecting", async () => {
  await expectUsageErrors([
    [
      ["lock", "--timeout", "30", "printer"],
      '--timeout must be a number with a unit (ms, s, m, h), such as 500ms, 30s or 1m30s: got "30"',
    ],
    [
      ["run", "--expire", "50ms", "printer", "--", "true"],
      '--expire must be at least 100ms: got "50ms"',
    ],
    [
      ["lock", "--expire", "0.05s", "printer"],
      '--expire must be at least 100ms: got "0.05s"',
    ],
    [
      ["run", "--kill-after", "5", "printer", "--", "true"],
      '--kill-after must be a number with a unit (ms, s, m, h), such as 500ms, 30s or 1m30s: got "5"',
    ],
    [
      ["lock", "-E", "256", "printer"],
      '--conflict-exit-code must be a whole number from 0 to 255: got "256"',
    ],
    [
      ["status", "--url", "file:relative/dir"],
      'url must name an absolute directory (file:///path): got "file:relative/dir"',
    ],
    [["lock", "printer", ""], 'resource must not be empty: got ""'],
    [
      ["lock", "--label", "two\nlines", "printer"],
      'label must not contain control characters: got "two\\nlines"',
    ],
    [
      ["status", "--port", "70000"],
      '--port must be an integer from 1 to 65535: got "70000"',
    ],
    [
      ["status", "--port=-1"],
      '--port must be an integer from 1 to 65535: got "-1"',
    ],
    [
      ["status", "--db", "two"],
      '--db must be a non-negative integer: got "two"',
    ],
    [
      ["status", "--url", "http://me:hunter2@cache:6379"],
      'url must start with redis://, rediss:// or file://: got "http://me:***@cache:6379"',
    ],
    [
      ["status"],
      'url must start with redis://, rediss:// or file://: got "http://me:***@cache:6379"',
      { TURN_REDIS_URL: "http://me:hunter2@cache:6379" },
    ],
    [
      ["status", "--url", "redis://cache", "--password", "hunter2"],
      "--url cannot be combined with --host, --port, --db, --password, --username, --cluster, --sentinels, --master or --tls: got --password",
    ],
    [
      ["status", "--cluster", "10.0.0.1:7000", "--db", "2"],
      "--cluster cannot be combined with --host, --port, --db, --sentinels or --master: got --db",
    ],
    [
      ["status", "--cluster", "10.0.0.1:7000,10.0.0.2"],
      '--cluster takes HOST:PORT[,HOST:PORT...] with ports from 1 to 65535: got "10.0.0.1:7000,10.0.0.2"',
    ],
    [
      ["status", "--sentinels", "[::1]:0", "--master", "m"],
      '--sentinels takes HOST:PORT[,HOST:PORT...] with ports from 1 to 65535: got "[::1]:0"',
    ],
    [
      ["status", "--sentinels", "10.0.0.1:26379"],
      "--sentinels and --master go together: got only --sentinels",
    ],
    [
      ["status", "--master", "m", "--host", "cache"],
      "--sentinels and --master go together: got only --master",
    ],
    [
      ["status", "--sentinels", "s:26379", "--master", "m", "--port", "1"],
      "--sentinels cannot be combined with --host or --port: got --port",
    ],
    [
      ["status", "--sentinels", "s:26379", "--master", ""],
      '--master must name the master group: got ""',
    ],
    [
      ["status", "--cluster", "a b:7000"],
      '--cluster takes HOST:PORT[,HOST:PORT...] with ports from 1 to 65535: got "a b:7000"',
    ],
    [
      ["status", "--url", "rediss://cache", "--tls"],
      "--url cannot be combined with --host, --port, --db, --password, --username, --cluster, --sentinels, --master or --tls: got --tls",
    ],
    [
      ["status", "--host", "cache", "--username", ""],
      '--username must not be empty: got ""',
    ],
    [
      ["status", "--cluster", "10.0.0.1:7000", "--username", "tu\u0001rn"],
      '--username must not contain control characters: got "tu\\u0001rn"',
    ],
  ]);
});

Deno.test("run needs resources, then --, then a command", async () => {
  await expectUsageErrors([
    [
      ["run", "printer", "lp", "report.pdf"],
      'run needs "--" and then the command, e.g. turn run printer -- lp report.pdf: got "printer lp report.pdf"',
    ],
    [
      ["run", "--", "lp", "report.pdf"],
      'run needs at least one resource before "--": got "lp report.pdf"',
    ],
  ]);
});

Deno.test("an unreachable server is one line on stderr, exit 69, password hidden", async () => {
  const port = freePort();
  for (
    const args of [
      ["status", "--port", String(port), "--password", "hunter2"],
      ["lock", "--url", `redis://:hunter2@127.0.0.1:${port}/0`, "printer"],
      ["run", "--port", String(port), "printer", "--", "true"],
    ]
  ) {
    const { code, stdout, stderr } = await runCli(args);
    deepStrictEqual(code, 69, stderr);
    // The reason after the address is the OS's (IPv4 or IPv6 for localhost).
    const line = new RegExp(
      `^turn: cannot connect to Redis at (localhost|127\\.0\\.0\\.1):${port}: [^\\n]+\\n$`,
    );
    ok(line.test(stderr), stderr);
    ok(!stderr.includes("hunter2"), stderr);
    deepStrictEqual(
      stdout,
      args[0] === "lock" ? "printer: acquiring\nprinter: canceled\n" : "",
    );
  }
});

Deno.test("docs/CLI.md installs with exactly the permissions the tests use", async () => {
  const docs = await Deno.readTextFile(
    new URL("../../docs/CLI.md", import.meta.url),
  );
  ok(
    docs.includes(
      `deno install -g -n turn --config deno.json --quiet ${
        CLI_PERMISSIONS.join(" ")
      } cli.ts`,
    ),
    "docs/CLI.md must show the install line with CLI_PERMISSIONS",
  );
  ok(
    docs.includes(
      `deno install -g -n turn --config deno.json --quiet ${
        fileCliPermissions("/var/lock/turn").join(" ")
      } cli.ts`,
    ),
    "docs/CLI.md must show the file backend's install line",
  );
});
