// The Locker from the npm package, across processes: two Node processes, then
// a Deno process (running the module's own sources) and a Node process.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Locker } from "@turn/turn";
import { startRedis } from "./redis.js";
import { type Output, REPO, run, succeeded, waitFor } from "./helpers.js";

const HAMMER = fileURLToPath(new URL("fixtures/hammer.js", import.meta.url));
const DENO_HAMMER = `${REPO}test/support/fixtures/hammer.ts`;
const CYCLES = 15;

function nodeHammer(url: string, label: string) {
  return run(process.execPath, [
    HAMMER,
    url,
    "ledger",
    String(CYCLES),
    label,
    "2",
  ]);
}

function denoHammer(url: string, label: string) {
  return run("deno", [
    "run",
    "-A",
    DENO_HAMMER,
    url,
    url, // the witness shares the lock domain's Redis, as the Node twin's does
    "ledger",
    String(CYCLES),
    label,
    "2",
  ], {
    cwd: REPO,
  });
}

async function checkWitness(
  url: string,
  labels: readonly string[],
): Promise<void> {
  const redis = new Redis(url);
  try {
    assert.equal(
      await redis.get("witness:max"),
      "1",
      "two users inside at once",
    );
    assert.deepEqual(await redis.lrange("witness:fifo", 0, -1), []);
    const grants = await redis.lrange("witness:grants", 0, -1);
    assert.equal(grants.length, labels.length * CYCLES);
    for (const label of labels) {
      assert.ok(
        grants.some((grant) => grant.startsWith(`${label}:`)),
        `${label} never had a turn: ${grants}`,
      );
    }
    // Both were queued behind the gate, so turns alternate between them.
    const owners = grants.map((grant) => grant.split(":")[0]);
    const switches = owners.filter((owner, i) =>
      i > 0 && owner !== owners[i - 1]
    );
    assert.ok(
      switches.length >= 2,
      `the processes did not alternate: ${owners}`,
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts the hammers while this process holds the resource, and lets them go
 * once both are queued: from then on they contend for every turn.
 */
async function contend(
  url: string,
  hammers: Record<string, (url: string, label: string) => Promise<Output>>,
): Promise<void> {
  await using locker = new Locker({ url });
  const gate = await locker.lock("ledger", { label: "gate" });
  const labels = Object.keys(hammers);
  const outputs = Promise.all(
    labels.map((label) => hammers[label](url, label)),
  );
  await waitFor(
    async () =>
      (await locker.status(["ledger"]))[0].users.length === labels.length + 1,
    "both processes queued behind the gate",
  );
  await gate.release();
  (await outputs).forEach(succeeded);
  await checkWitness(url, labels);
}

test("two Node processes never overlap and are served in number order", async () => {
  await using server = await startRedis();
  await contend(server.url, { "node-a": nodeHammer, "node-b": nodeHammer });
});

test("a Deno process and a Node process take turns on one resource", async () => {
  await using server = await startRedis();
  await contend(server.url, { deno: denoHammer, node: nodeHammer });
});

test("the file backend is refused under Node with a clear error", () => {
  assert.throws(
    () => new Locker({ url: "file:///tmp/turn-locks" }),
    {
      name: "TypeError",
      message: /^url file: needs Deno .*: got "file:\/\/\/tmp\/turn-locks"$/,
    },
  );
});
