/**
 * `turn dashboard` as a real process, with the permissions the docs give:
 * it serves the page, the state and the metrics for Redis and the file
 * backend, stops cleanly on SIGTERM, and refuses bad flags before listening.
 */

import { match, ok, strictEqual } from "node:assert/strict";
import { freePort, startRedis } from "../../support/redis_server.ts";
import {
  CLI_PERMISSIONS,
  fileCliPermissions,
  runCli,
  spawnCli,
} from "../support/cli.ts";
import { Locker } from "../../mod.ts";
import { waitFor } from "../support/helpers.ts";

async function checkServes(
  url: string,
  locker: Locker,
): Promise<void> {
  const lock = await locker.lock("press", { label: "night shift" });
  try {
    await waitFor(async () => {
      const state = await (await fetch(`${url}api/state`)).json();
      return state.changed.some((view: { holder: { label: string } | null }) =>
        view.holder?.label === "night shift"
      );
    }, "the dashboard to show the holder");
    const page = await fetch(url);
    match(await page.text(), /<title>turn dashboard<\/title>/);
    const metrics = await (await fetch(`${url}metrics`)).text();
    match(metrics, /^turn_holders\{resource="press"\} 1$/m);
  } finally {
    await lock.release();
  }
}

/** Runs the dashboard until `check` is done, then stops it with SIGTERM. */
async function withDashboard(
  args: string[],
  permissions: readonly string[],
  check: (url: string) => Promise<void>,
): Promise<void> {
  const port = freePort();
  await using cli = spawnCli(["dashboard", "--port", String(port), ...args], {
    permissions,
  });
  const url = `http://127.0.0.1:${port}/`;
  await cli.stdoutHas(`turn dashboard: ${url} (read-only;`);
  await check(url);
  cli.kill("SIGTERM");
  const { code, stderr } = await cli.result();
  strictEqual(code, 0, stderr);
  strictEqual(stderr, "");
}

Deno.test("turn dashboard serves a Redis database and stops on SIGTERM", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await withDashboard(
    ["--url", server.url],
    CLI_PERMISSIONS,
    (url) => checkServes(url, locker),
  );
});

Deno.test("turn dashboard serves the file backend with read/write on its directory and net on 127.0.0.1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "turn-dash-cli-" });
  try {
    await using locker = new Locker({ url: `file://${dir}` });
    await withDashboard(
      ["--url", `file://${dir}`],
      [...fileCliPermissions(dir), "--allow-net=127.0.0.1"],
      (url) => checkServes(url, locker),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("turn dashboard refuses bad flags before listening", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--port", "70000"],
      /--port must be a whole number from 0 to 65535: got "70000"/,
    ],
    [
      ["--port", "http"],
      /--port must be a whole number from 0 to 65535: got "http"/,
    ],
    [["--host", ""], /--host must name an address: got ""/],
    [["printer"], /takes no names: got "printer"/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr, stdout } = await runCli(["dashboard", ...args]);
    strictEqual(code, 2, `${args.join(" ")}: ${stderr}`);
    match(stderr, message);
    strictEqual(stdout, "");
  }
});

Deno.test("turn dashboard says so when its address is taken", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  const { code, stderr } = await runCli([
    "dashboard",
    "--url",
    "redis://127.0.0.1:1",
    "--port",
    String(port),
  ]);
  strictEqual(code, 1);
  match(
    stderr,
    new RegExp(
      `^turn: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use \\(choose another with --port\\)\\n$`,
    ),
  );
});

Deno.test("turn dashboard --help names its own --host and --port, not Redis's", async () => {
  const { code, stdout } = await runCli(["dashboard", "--help"]);
  strictEqual(code, 0);
  match(stdout, /--port PORT +Port the dashboard listens on/);
  ok(!/Redis port/.test(stdout), "the Redis --port is not offered here");
});

/** One raw HTTP/1.1 request, since fetch sets the Host header itself. */
async function rawRequest(
  url: string,
  method: string,
  host: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port, pathname } = new URL(url);
  using connection = await Deno.connect({ hostname, port: Number(port) });
  const head = [
    `${method} ${pathname} HTTP/1.1`,
    `Host: ${host}`,
    `Origin: http://${host}`,
    "Content-Type: application/json",
    "Content-Length: 2",
    "Connection: close",
  ].join("\r\n");
  await connection.write(new TextEncoder().encode(`${head}\r\n\r\n{}`));
  const reply = await new Response(connection.readable).text();
  return {
    status: Number(reply.split(" ")[1]),
    body: reply.slice(reply.indexOf("\r\n\r\n") + 4),
  };
}

Deno.test("a dashboard on 127.0.0.1 refuses requests for another host name (DNS rebinding)", async () => {
  await using server = await startRedis();
  await withDashboard(["--url", server.url], CLI_PERMISSIONS, async (url) => {
    for (
      const [method, path] of [["GET", "api/state"], ["POST", "api/reset"], [
        "GET",
        "",
      ]]
    ) {
      const refused = await rawRequest(`${url}${path}`, method, "evil.example");
      strictEqual(refused.status, 421, path);
      match(refused.body, /got "evil\.example"/);
    }
    const own = await rawRequest(`${url}api/state`, "GET", new URL(url).host);
    strictEqual(own.status, 200);
  });
});
