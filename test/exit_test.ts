/**
 * The process exits by itself after `close()`: for every way of connecting,
 * a real subprocess takes a turn while another Locker waits, closes both and
 * returns from its module. Anything left open (a socket, a sentinel
 * subscription, a timer) would keep it alive, and the test would see it
 * still running.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Locker, type LockerOptions } from "../mod.ts";
import { quit } from "../src/redis/client.ts";
import { fixture, untilQueued, waitFor, within } from "./support/helpers.ts";
import { startRedis } from "../support/redis_server.ts";
import { startCluster } from "./support/redis_cluster.ts";
import { MASTER_NAME, startSentinelGroup } from "./support/redis_sentinel.ts";

/** How long a process may take to exit after it said "closed". */
const EXIT_BOUND_MS = 10_000;

async function readUntil(
  stream: ReadableStream<Uint8Array>,
  marker: string,
): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (text.includes(marker)) break;
  }
  return text;
}

/** `stderr` without Deno's notes about the project's configuration. */
function withoutDenoNotes(stderr: string): string {
  return stderr.replace(/^.*Warning.* compiler option is deprecated.*\n/gm, "");
}

/**
 * Runs the fixture with `options` and asserts it closes, then exits on its
 * own with code 0 and nothing on stderr within {@linkcode EXIT_BOUND_MS}.
 */
async function exitsByItself(
  options: LockerOptions,
  borrow = false,
): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      fixture("close_and_exit.ts"),
      JSON.stringify(options),
      ...(borrow ? ["borrow"] : []),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    const stdout = await within(
      readUntil(child.stdout, "closed\n"),
      60_000,
      "the fixture's turns",
    );
    assert.equal(stdout, "closed\n");
    const closedAt = Date.now();
    const { code } = await within(
      child.status,
      EXIT_BOUND_MS,
      "the process's own exit after close()",
    );
    console.log(`exited ${Date.now() - closedAt} ms after close()`);
    assert.equal(code, 0);
    assert.equal(withoutDenoNotes(await stderr), "");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* it exited */ }
    await child.status;
    await stderr;
  }
}

Deno.test("the process exits by itself after close(): url", async () => {
  await using server = await startRedis();
  await exitsByItself({ url: server.url });
});

Deno.test("the process exits by itself after close(): options", async () => {
  await using server = await startRedis();
  await exitsByItself({ host: "127.0.0.1", port: server.port, db: 3 });
});

Deno.test(
  "the process exits by itself after close(): borrowed client",
  async () => {
    await using server = await startRedis();
    await exitsByItself({ url: server.url }, true);
  },
);

Deno.test("the process exits by itself after close(): Cluster", async () => {
  await using cluster = await startCluster();
  await exitsByItself({
    cluster: cluster.servers.map((s) => ({ host: "127.0.0.1", port: s.port })),
  });
});

Deno.test("the process exits by itself after close(): Sentinel", async () => {
  await using group = await startSentinelGroup();
  await exitsByItself({ sentinels: group.addresses, name: MASTER_NAME });
});

Deno.test("the process exits by itself after close(): file", async () => {
  const root = await Deno.makeTempDir({ prefix: "turn-exit-" });
  try {
    await exitsByItself({ url: `file://${root}` });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test(
  "Sentinel: closed Lockers leave no subscription on any sentinel",
  async () => {
    await using group = await startSentinelGroup();
    const admins = group.sentinels.map((s) => new Redis(s.port, "127.0.0.1"));
    // Clients subscribed on each sentinel: ioredis's failover detectors.
    const subscribed = () =>
      Promise.all(
        admins.map(async (admin) =>
          (String(await admin.call("CLIENT", "LIST")).match(/ sub=[1-9]/g) ??
            []).length
        ),
      );
    try {
      for (let i = 0; i < 5; i++) {
        await using locker = new Locker({
          sentinels: group.addresses,
          name: MASTER_NAME,
        });
        const held = await locker.lock("exit", { label: "holder" });
        const waiting = locker.lock("exit", { label: "waiter" });
        await untilQueued(locker, "exit", 2);
        await held.release();
        await (await within(waiting, 10_000, "the waiter's turn")).release();
        // Open, the Locker's two clients watch for failovers.
        await waitFor(
          async () => sum(await subscribed()) > 0,
          "a failover detector subscribed",
        );
      }
      await waitFor(
        async () => sum(await subscribed()) === 0,
        "no subscription left on the sentinels",
      );
    } finally {
      await Promise.all(admins.map((admin) => quit(admin)));
    }
  },
);

function sum(counts: number[]): number {
  return counts.reduce((a, b) => a + b, 0);
}
