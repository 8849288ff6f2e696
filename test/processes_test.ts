import assert from "node:assert/strict";
import {
  fixture,
  lockerTest,
  spawnHolder,
  untilQueued,
  waitFor,
  within,
} from "./support/helpers.ts";
import { Redis } from "ioredis";
import { startRedis } from "../support/redis_server.ts";

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

lockerTest(
  "separate processes never overlap and are served in number order",
  async (t) => {
    await using server = await startRedis();
    const witness = new Redis(server.port, "127.0.0.1");
    const processes = 4;
    const cycles = 15;
    const children = Array.from(
      { length: processes },
      (_, i) =>
        deno([
          fixture("hammer.ts"),
          t.url,
          server.url,
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
    assert.equal(await witness.get("witness:max"), "1");
    assert.deepEqual(await witness.lrange("witness:fifo", 0, -1), []);
    const grants = await witness.lrange("witness:grants", 0, -1);
    witness.disconnect();
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
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "a holder killed with SIGKILL frees the turn: within about expire on Redis, at once on files",
  async (t) => {
    const expire = 2000;
    await using holder = spawnHolder(t.url, "gpu", expire);
    assert.equal(await within(holder.held, 30_000, "holder started"), 1);
    const locker = t.locker();
    const waiting = locker.lock("gpu", {
      label: "survivor",
      patience: 600_000,
    });
    await untilQueued(locker, "gpu", 2);
    const killedAt = Date.now();
    await holder.kill();
    const lock = await within(waiting, 10_000, "turn after the kill");
    const recovery = Date.now() - killedAt;
    console.log(
      `recovery after SIGKILL [${t.backend} ${t.mode}]: ${recovery} ms (expire ${expire} ms)`,
    );
    // Redis: the presence outlives the kill by at most `expire`; the waiter
    // acts when it runs out, long before patience (10 minutes here) would.
    // Files: the OS drops the dead holder's lock at once and the close wakes
    // the waiter; the bound is generous (a loaded machine), the figure above
    // is the measurement.
    const bound = t.backend === "redis" ? expire + 500 : expire;
    assert.ok(recovery < bound, `recovered after ${recovery} ms`);
    await lock.release();
    assert.deepEqual(await t.leftovers(), []);
  },
);

lockerTest(
  "processes killed at any moment, holders included, never let two others overlap",
  async (t) => {
    await using server = await startRedis();
    const witness = new Redis(server.port, "127.0.0.1");
    const cycles = 20;
    const children = Array.from({ length: 6 }, () =>
      deno([
        fixture("owner_hammer.ts"),
        t.url,
        server.url,
        "chaos",
        String(cycles),
        "5",
        "500",
      ]).spawn());
    const byPid = new Map(children.map((child) => [String(child.pid), child]));
    const grants = async () => await witness.llen("witness:grants");
    const killed = new Set<string>();
    // Kill the holder inside its turn twice, then a process that may wait.
    for (const [after, holder] of [[10, true], [30, true], [50, false]]) {
      await waitFor(
        async () => await grants() >= Number(after),
        `${after} grants`,
      );
      let pid: string | null = null;
      await waitFor(async () => {
        pid = holder
          ? (await witness.get("witness:owner"))?.split(":")[0] ?? null
          : [...byPid.keys()].find((p) => !killed.has(p)) ?? null;
        return pid !== null && !killed.has(pid);
      }, holder ? "a holder to kill" : "a process to kill");
      byPid.get(pid!)!.kill("SIGKILL");
      killed.add(pid!);
    }
    const results = await within(
      Promise.all(children.map((child) => child.output())),
      120_000,
      "every process done",
    );
    for (const [index, { code, signal, stderr }] of results.entries()) {
      if (killed.has(String(children[index].pid))) {
        assert.equal(signal, "SIGKILL");
      } else assert.equal(code, 0, new TextDecoder().decode(stderr));
    }
    // A turn whose lease was lost (a heartbeat late under load) may have been
    // entered by the next user: only overlaps with turns held throughout count.
    const lost = new Set(await witness.lrange("witness:lost", 0, -1));
    const overlaps = (await witness.lrange("witness:overlaps", 0, -1))
      .filter((overlap) => !lost.has(overlap.split(" while ")[1]));
    assert.deepEqual(overlaps, []);
    const survivors = (await witness.lrange("witness:grants", 0, -1))
      .filter((grant) => !killed.has(grant.split(":")[0]));
    assert.equal(survivors.length, (6 - killed.size) * cycles);
    witness.disconnect();
    // Users killed while waiting linger until their presence expires (Redis)
    // or at once (files); then reset clears what they left.
    const locker = t.locker();
    await waitFor(
      async () =>
        ((await locker.status(["chaos"]))[0]?.users ?? []).length === 0,
      "dead users gone",
    );
    await locker.reset(["chaos"]);
    assert.deepEqual(await t.leftovers(), []);
  },
);
