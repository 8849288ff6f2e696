import { deepStrictEqual } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { startRedis } from "../../support/redis_server.ts";
import { runCli } from "../support/cli.ts";
import { waitFor } from "../support/helpers.ts";
import { turn1Lock } from "../../support/turn1_client.ts";

// The last line is the blank line turn 1.0 prints before "missing", which
// has no queue.
const TURN_1_STATUS = `\
test_resource                                              1
------------------------------------------------------------
test_label                                                 1

test_resource_other                                        2
------------------------------------------------------------

`;

/** One whole turn 1.0 cycle: it leaves the counters behind, never deletes. */
async function leaveFinishedQueue(port: number, resource: string) {
  const user = await turn1Lock(port, resource, "done");
  await user.started;
  await user.complete();
  user.close();
}

Deno.test("turn status NAME... prints turn 1.0's table, whichever way it connects", async () => {
  await using server = await startRedis();
  // The state turn 1.0 itself leaves: a holder, and a finished queue.
  const holder = await turn1Lock(server.port, "test_resource", "test_label");
  await holder.started;
  await leaveFinishedQueue(server.port, "test_resource_other");
  const names = ["test_resource", "test_resource_other", "missing"];
  const { port, url } = server;
  const connections: [string[], Record<string, string>?][] = [
    [["--port", `${port}`]],
    [["--host", "127.0.0.1", "--port", `${port}`, "--db", "0"]],
    [["--url", url]],
    [[], { TURN_REDIS_URL: url }],
    [[], { REDIS_URL: url }],
    [[], { TURN_REDIS_URL: url, REDIS_URL: "redis://127.0.0.1:1" }],
    [[], { TURN_URL: url, TURN_REDIS_URL: "redis://127.0.0.1:1" }],
  ];
  try {
    for (const [flags, env] of connections) {
      deepStrictEqual(
        await runCli([...flags, "status", ...names], { env }),
        { code: 0, stdout: TURN_1_STATUS, stderr: "" },
      );
    }
  } finally {
    holder.close();
  }
});

Deno.test("turn status with no names lists queue sizes, largest first", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _a = await locker.lock("printer", { label: "a" });
  const waiting = new AbortController();
  const waiters = ["b", "c"].map((label) =>
    locker.lock("printer", { label, signal: waiting.signal }).catch(() => {})
  );
  await using _scanner = await locker.lock("scanner", { label: "d" });
  await leaveFinishedQueue(server.port, "idle");
  await waitFor(
    async () => (await locker.status(["printer"]))[0]?.size === 3,
    "three users queued for printer",
  );
  deepStrictEqual(await runCli(["status", "--port", `${server.port}`]), {
    code: 0,
    stderr: "",
    stdout: `\
Resource                                          Queue size
------------------------------------------------------------
printer                                                    3
scanner                                                    1
idle                                                       0
`,
  });
  waiting.abort();
  await Promise.all(waiters);
});

Deno.test("turn status --json prints stable fields", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using held = await locker.lock("printer", {
    label: "report 42",
    expire: 60_000,
  });
  const { code, stdout, stderr } = await runCli([
    "status",
    "--json",
    "--url",
    server.url,
    "printer",
    "none",
  ]);
  deepStrictEqual({ code, stderr }, { code: 0, stderr: "" });
  const [status] = JSON.parse(stdout);
  const ttl = status.users[0].ttl;
  deepStrictEqual(ttl > 0 && ttl <= 60_000, true);
  deepStrictEqual(JSON.parse(stdout), [{
    resource: "printer",
    indicator: 1,
    dispenser: 1,
    size: 1,
    fence: String(held.fence),
    deadHead: null,
    users: [{ number: 1, label: "report 42", ttl }],
  }]);
  await using _scanner = await locker.lock("scanner", { label: "scan" });
  const all = await runCli(["status", "--json", "--url", server.url]);
  deepStrictEqual(
    JSON.parse(all.stdout).map((status: { resource: string }) =>
      status.resource
    ),
    ["printer", "scanner"],
  );
});

Deno.test("turn reset prints turn 1.0's messages and clears idle queues", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _held = await locker.lock("busy", { label: "x" });
  await leaveFinishedQueue(server.port, "idle");
  deepStrictEqual(
    await runCli(["reset", "--port", `${server.port}`, "nope", "busy", "idle"]),
    {
      code: 0,
      stderr: "",
      stdout: `No such queue: "nope".\n"busy" is in use by 1 user(s).\n`,
    },
  );
  deepStrictEqual((await locker.status()).map((status) => status.resource), [
    "busy",
  ]);
  deepStrictEqual(await runCli(["reset", "--port", `${server.port}`]), {
    code: 0,
    stderr: "",
    stdout: `"busy" is in use by 1 user(s).\n`,
  });
});
