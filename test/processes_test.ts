import assert from "node:assert/strict";
import {
  allKeys,
  fixture,
  redisTest,
  untilQueued,
  within,
} from "./_helpers.ts";

function deno(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    stdout: "piped",
    stderr: "piped",
  });
}

async function expectSuccess(child: Deno.ChildProcess): Promise<void> {
  const { code, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

redisTest(
  "separate processes never overlap and are served in number order",
  async (t) => {
    const processes = 4;
    const cycles = 15;
    const children = Array.from(
      { length: processes },
      (_, i) =>
        deno([
          fixture("hammer.ts"),
          t.server.url,
          "ledger",
          String(cycles),
          `p${i}`,
          "2",
        ])
          .spawn(),
    );
    await within(
      Promise.all(children.map(expectSuccess)),
      120_000,
      "hammer processes",
    );
    assert.equal(await t.redis.get("witness:max"), "1");
    assert.deepEqual(await t.redis.lrange("witness:fifo", 0, -1), []);
    const grants = await t.redis.lrange("witness:grants", 0, -1);
    assert.equal(grants.length, processes * cycles);
    // Numbers are granted in increasing order; they restart at 1 only when the
    // queue went idle and its keys were removed.
    const numbers = grants.map((g) => Number(g.split(":")[1]));
    for (let i = 1; i < numbers.length; i++) {
      assert.ok(
        numbers[i] > numbers[i - 1] || numbers[i] === 1,
        `grant ${numbers[i]} after ${numbers[i - 1]}`,
      );
    }
    await t.redis.del("witness:max", "witness:grants", "witness:inside");
    assert.deepEqual(await allKeys(t.redis), []);
  },
);

redisTest(
  "a holder killed with SIGKILL frees the turn within about expire",
  async (t) => {
    const expire = 2000;
    const child = deno([
      fixture("holder.ts"),
      t.server.url,
      "gpu",
      String(expire),
    ])
      .spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    const first = await within(reader.read(), 30_000, "holder started");
    assert.match(first.value ?? "", /held 1/);
    const locker = t.locker();
    const waiting = locker.lock("gpu", {
      label: "survivor",
      patience: 600_000,
    });
    await untilQueued(locker, "gpu", 2);
    const killedAt = Date.now();
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    child.stderr.cancel();
    const lock = await within(waiting, 10_000, "turn after the kill");
    const recovery = Date.now() - killedAt;
    console.log(`recovery after SIGKILL: ${recovery} ms (expire ${expire} ms)`);
    // The presence outlives the kill by at most `expire`; the waiter acts when
    // it runs out, long before patience (10 minutes here) would.
    assert.ok(recovery < expire + 500, `recovered after ${recovery} ms`);
    await lock.release();
    assert.deepEqual(await allKeys(t.redis), []);
  },
);
