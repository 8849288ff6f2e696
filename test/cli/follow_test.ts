import { deepStrictEqual, ok } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { EXTERNAL_PATTERN, resourceKeys } from "../../src/redis/keys.ts";
import { startRedis } from "../../support/redis_server.ts";
import { cliShellLine, spawnCli, subscribed } from "../support/cli.ts";

/** turn 1.0's example: one lock/unlock cycle. Returns the grant's token. */
async function cycle(locker: Locker, resource: string): Promise<bigint> {
  const lock = await locker.lock(resource, { label: "test_label" });
  await lock.release();
  return lock.fence;
}

/** turn 1.0's lines, but for the fencing token this module's `started` names. */
function cycleLines(resource: string, fence: bigint): string {
  return `\
${resource}: 1 assigned to "test_label"
${resource}: 1 started (fence ${fence})
${resource}: 1 completed by "test_label"
${resource}: 2 granted
`;
}

/**
 * Starts `turn follow ARGS`, waits until it listens on `channel`, runs a
 * cycle on each of `resources`, then stops it with `signal` once the last
 * resource's lines were printed; returns how it ended, and those lines.
 */
async function followCycles(
  args: string[],
  channel: string,
  resources: string[],
  signal: Deno.Signal,
) {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using follow = spawnCli(["follow", "--url", server.url, ...args]);
  await subscribed(server.url, channel);
  let fence = 0n;
  for (const resource of resources) fence = await cycle(locker, resource);
  const expected = cycleLines(resources.at(-1)!, fence);
  await follow.stdoutHas(expected);
  follow.kill(signal);
  return { result: await follow.result(), expected };
}

Deno.test("turn follow NAME prints turn 1.0's lines until Ctrl-C", async () => {
  const { result, expected } = await followCycles(
    ["test_resource"],
    resourceKeys("test_resource").external,
    ["other_resource", "test_resource"],
    "SIGINT",
  );
  deepStrictEqual(result, { code: 0, stderr: "", stdout: expected });
});

Deno.test("turn follow with no names picks up resources created after it started", async () => {
  const { result, expected } = await followCycles(
    [],
    EXTERNAL_PATTERN,
    ["created_later"],
    "SIGTERM",
  );
  deepStrictEqual(result, { code: 0, stderr: "", stdout: expected });
});

Deno.test("turn follow --json prints one object per event", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const before = Date.now();
  await using follow = spawnCli([
    "follow",
    "--json",
    "--port",
    `${server.port}`,
    "printer",
  ]);
  await subscribed(server.url, resourceKeys("printer").external);
  const fence = await cycle(locker, "printer");
  await follow.stdoutHas('"number":2,"kind":"granted"');
  follow.kill("SIGINT");
  const { code, stdout, stderr } = await follow.result();
  deepStrictEqual({ code, stderr }, { code: 0, stderr: "" });
  const events = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  for (const event of events) {
    ok(event.time >= before && event.time <= Date.now());
  }
  deepStrictEqual(
    events.map((event) => ({ ...event, time: 0 })),
    [
      {
        resource: "printer",
        number: 1,
        kind: "assigned",
        label: "test_label",
        fence: null,
        time: 0,
      },
      {
        resource: "printer",
        number: 1,
        kind: "started",
        label: null,
        fence: String(fence),
        time: 0,
      },
      {
        resource: "printer",
        number: 1,
        kind: "completed",
        label: "test_label",
        fence: null,
        time: 0,
      },
      {
        resource: "printer",
        number: 2,
        kind: "granted",
        label: null,
        fence: null,
        time: 0,
      },
    ],
  );
});

Deno.test("turn follow ends quietly, exit 141, when its reader goes away", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const follow = cliShellLine(["follow", "--url", server.url, "printer"]);
  const pipeline = new Deno.Command("bash", {
    args: ["-c", `${follow} | head -n 1; echo "exit \${PIPESTATUS[0]}"`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  let ended = false;
  pipeline.finally(() => ended = true);
  await subscribed(server.url, resourceKeys("printer").external);
  // Only a write after `head` has gone can notice that it has.
  const deadline = Date.now() + 20_000;
  while (!ended && Date.now() < deadline) {
    await cycle(locker, "printer");
    await Promise.race([pipeline, new Promise((ok) => setTimeout(ok, 50))]);
  }
  ok(ended, "turn follow kept running after its reader had gone");
  const { stdout, stderr } = await pipeline;
  deepStrictEqual(
    {
      stdout: new TextDecoder().decode(stdout),
      stderr: new TextDecoder().decode(stderr),
    },
    { stdout: 'printer: 1 assigned to "test_label"\nexit 141\n', stderr: "" },
  );
});
