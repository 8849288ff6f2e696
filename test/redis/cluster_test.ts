// The Locker on a 3-master Redis Cluster built by the test: hash-tagged keys,
// sharded pub/sub, status and reset across masters, a resource whose slot
// moves to another master and back while its users wait and take turns, and a
// slot split on purpose between two masters.
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { CommandError, Locker } from "../../mod.ts";
import { SLOT_MOVE_WAIT_MS } from "../../src/redis/slot_move.ts";
import { quit } from "../../src/redis/client.ts";
import type { Lock } from "../../mod.ts";
import { startCluster } from "../support/redis_cluster.ts";
import { startRedis } from "../../support/redis_server.ts";
import {
  followUntil,
  untilQueued,
  waitFor,
  within,
  withoutFences,
} from "../support/helpers.ts";
import { runCli, spawnCli } from "../support/cli.ts";

const EXPIRE = 3_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Counts who is inside a critical section, in a Redis outside the cluster. */
class Witness {
  readonly #redis: Redis;
  readonly #key: string;
  max = 0;
  constructor(redis: Redis, key: string) {
    this.#redis = redis;
    this.#key = key;
  }
  async enter(): Promise<void> {
    this.max = Math.max(this.max, await this.#redis.incr(this.#key));
  }
  async leave(): Promise<void> {
    await this.#redis.decr(this.#key);
  }
}

/** Script runs a server counted, whether they succeeded or not. */
function scriptCalls(commandstats: string): number {
  let total = 0;
  for (const line of commandstats.split("\n")) {
    if (!/^cmdstat_eval(sha)?:/.test(line)) continue;
    for (const [, count] of line.matchAll(/(?:^|,|:)\w*calls=(\d+)/g)) {
      total += Number(count);
    }
  }
  return total;
}

Deno.test({
  name: "Redis Cluster",
  async fn(t) {
    const started = Date.now();
    await using cluster = await startCluster(3);
    await using witnessServer = await startRedis();
    const witnessRedis = new Redis(witnessServer.port, "127.0.0.1");
    console.log(`cluster of 3 masters ready in ${Date.now() - started} ms`);
    const lockers: Locker[] = [];
    const locker = () => {
      const l = new Locker({ redis: cluster.client() });
      lockers.push(l);
      return l;
    };
    // Fence keys stay on purpose (one per resource ever granted).
    const keysEverywhere = async () =>
      withoutFences(
        (await Promise.all(cluster.admins.map((a) => a.keys("turn:*")))).flat(),
      );
    /**
     * One holder and `count` waiters on `resource`, each counted by a witness
     * inside its turn; resolves once all are queued.
     */
    const queueUp = async (resource: string, count: number) => {
      const slot = await cluster.slotOf(`turn:{${resource}}:x`);
      const witness = new Witness(witnessRedis, `witness:${resource}`);
      const holderLocker = locker();
      const holder = await holderLocker.lock(resource, { expire: EXPIRE });
      await witness.enter();
      const granted: number[] = [];
      const waiters = Array.from(
        { length: count },
        () =>
          locker().withLock(resource, async (lock: Lock) => {
            await witness.enter();
            granted.push(lock.number);
            await delay(Math.random() * 30);
            assert.equal(lock.signal.aborted, false);
            await witness.leave();
          }, { expire: EXPIRE }),
      );
      // Failures are asserted by the caller; none may go unhandled meanwhile.
      const done = Promise.allSettled(waiters);
      await untilQueued(holderLocker, resource, count + 1);
      const from = await cluster.ownerOf(slot);
      const serve = async () => {
        await witness.leave();
        await holder.release();
        const settled = await within(done, 30_000, "every waiter done");
        assert.deepEqual(settled.filter((o) => o.status === "rejected"), []);
        assert.equal(witness.max, 1, "two users held the turn at once");
        assert.deepEqual(
          granted,
          Array.from({ length: count }, (_, k) => holder.number + 1 + k),
        );
      };
      return { slot, from, holderLocker, holder, witness, serve };
    };
    const ownerOfResource = async (resource: string) =>
      await cluster.ownerOf(await cluster.slotOf(`turn:{${resource}}:x`));

    try {
      await t.step(
        "keys carry a hash tag; grants use sharded pub/sub",
        async () => {
          const [a, b] = [locker(), locker()];
          const held = await a.lock("printer", { expire: EXPIRE });
          const { events } = await followUntil(
            b,
            ["printer"],
            (e) => e.kind === "started" && e.number === 2,
          );
          const waiting = b.lock("printer", { expire: EXPIRE });
          await untilQueued(a, "printer", 2);
          const owner = cluster.admins[await ownerOfResource("printer")];
          // Each user's token key, and the waiter's draw key, live in the
          // same slot (a draw granted at once keeps no draw key).
          const names = (await owner.keys("turn:*")).sort();
          const draws = names.filter((k) =>
            k.startsWith("turn:{printer}:draw:")
          );
          assert.equal(draws.length, 1);
          assert.deepEqual(names.filter((k) => !draws.includes(k)), [
            "turn:{printer}:dispenser",
            "turn:{printer}:fence",
            "turn:{printer}:indicator",
            "turn:{printer}:serial:1",
            "turn:{printer}:serial:2",
            "turn:{printer}:token:1",
            "turn:{printer}:token:2",
          ]);
          // The waiter listens for its grant on its Locker's wake channel,
          // sharded; nothing listens unsharded.
          const shards = await owner.call("PUBSUB", "SHARDCHANNELS");
          assert.equal((shards as string[]).length, 1);
          assert.match(
            (shards as string[])[0],
            /^turn:\{printer\}:wake:[0-9a-f]{16}$/,
          );
          for (const pattern of ["*internal", "*wake*"]) {
            assert.deepEqual(
              await owner.call("PUBSUB", "CHANNELS", pattern),
              [],
            );
          }
          await held.release();
          const next = await within(waiting, 10_000, "waiter granted");
          assert.equal(next.number, 2);
          const seen = await within(events, 10_000, "events followed");
          assert.deepEqual(
            seen.map((e) => e.message),
            [
              'printer: 2 assigned to "' + seen[0].label + '"',
              `printer: 1 completed by "${held.label}"`,
              "printer: 2 granted",
              `printer: 2 started (fence ${next.fence})`,
            ],
          );
          await next.release();
          assert.deepEqual(await keysEverywhere(), []);
        },
      );

      await t.step(
        "status and reset without names cover every master",
        async () => {
          const a = locker();
          const names: string[] = [];
          const owners = new Set<number>();
          for (let i = 0; owners.size < 3; i++) {
            const owner = await ownerOfResource(`r${i}`);
            if (owners.has(owner)) continue;
            owners.add(owner);
            names.push(`r${i}`);
          }
          const held = await Promise.all(
            names.map((r) => a.lock(r, { expire: EXPIRE })),
          );
          const status = await a.status();
          assert.deepEqual(status.map((s) => s.resource), [...names].sort());
          const reset = await a.reset();
          assert.deepEqual(
            reset.map((r) => [r.resource, r.outcome, r.users]),
            [...names].sort().map((r) => [r, "in-use", 1]),
          );
          await Promise.all(held.map((l) => l.release()));
          assert.deepEqual(await a.status(), []);
          assert.deepEqual(await keysEverywhere(), []);
        },
      );

      await t.step(
        "a cluster needs hash tags; a tag cannot be empty",
        async () => {
          assert.throws(
            () => new Locker({ redis: cluster.client(), hashTag: false }),
            /hashTag must be true with a Redis Cluster.*: got false/,
          );
          await assert.rejects(
            () => locker().lock("}x"),
            /resource must not start with "}" when keys carry a hash tag \(Redis Cluster\): got "}x"/,
          );
          assert.deepEqual(await keysEverywhere(), []);
        },
      );

      await t.step(
        "a resource whose slot moves keeps its queue and its turns",
        async () => {
          const resource = "moving";
          const { slot, from, holderLocker, holder, serve } = await queueUp(
            resource,
            5,
          );
          const to = (from + 1) % 3;

          const moveStarted = Date.now();
          await cluster.moveSlot(slot, to);
          const moveMs = Date.now() - moveStarted;
          assert.equal(await cluster.ownerOf(slot), to);
          assert.equal(
            Number(await cluster.admins[from].cluster("COUNTKEYSINSLOT", slot)),
            0,
          );
          // Dispenser, indicator, fence, six users' presence and token keys
          // and the five waiters' draw keys now live on the new master.
          assert.equal(
            Number(await cluster.admins[to].cluster("COUNTKEYSINSLOT", slot)),
            3 + 2 * 6 + 5,
          );
          // The waiters' sharded subscription follows the slot.
          await waitFor(
            async () =>
              ((await cluster.admins[to].call(
                "PUBSUB",
                "SHARDCHANNELS",
              )) as string[]).some((channel) =>
                channel.startsWith(`turn:{${resource}}:wake:`)
              ),
            "shard channel subscribed on the new master",
          );

          // Presences kept alive across the move: nobody lapsed or was skipped.
          assert.equal(
            (await holderLocker.status([resource]))[0].users.length,
            6,
          );
          assert.equal(holder.signal.aborted, false);
          // Then the slot moves back while the turns are handed on.
          const released = Date.now();
          await Promise.all([serve(), cluster.moveSlot(slot, from)]);
          const drainMs = Date.now() - released;
          assert.equal(await cluster.ownerOf(slot), from);
          assert.deepEqual(await keysEverywhere(), []);
          console.log(
            `slot ${slot} moved from master ${from} to ${to} in ${moveMs} ms; ` +
              `moved back while 5 waiters were served in ${drainMs} ms`,
          );
        },
      );
      await t.step(
        "scripts wait while a resource's keys are split between masters",
        async () => {
          const resource = "split";
          const { slot, from, holder, witness, serve } = await queueUp(
            resource,
            2,
          );
          const to = (from + 2) % 3;
          const target = cluster.admins[to];
          const holderKey = `turn:{${resource}}:serial:${holder.number}`;
          await target.config("RESETSTAT");
          // Everything but the holder's presence moves first: the waiters'
          // polls are redirected (ASK) to the new master, which does not have
          // the holder's presence yet and must not take it for gone.
          await cluster.moveSlot(slot, to, {
            batches: (
              keys,
            ) => [keys.filter((k) => k !== holderKey), [holderKey]],
            between: () =>
              waitFor(
                async () => scriptCalls(await target.info("commandstats")) >= 4,
                "waiters' scripts reached the new master",
              ),
          });
          assert.equal(
            witness.max,
            1,
            "a waiter was granted while the holder held",
          );
          // The new master refused those scripts until the slot was whole.
          assert.match(
            await target.info("errorstats"),
            /errorstat_TRYAGAIN:count=[1-9]/,
          );
          await serve();
          assert.deepEqual(await keysEverywhere(), []);
        },
      );
      await t.step("closed Lockers leave no subscriber behind", async () => {
        await Promise.all(lockers.map((l) => l.close()));
        await waitFor(
          async () =>
            (await Promise.all(
              cluster.admins.map((a) =>
                a.call("CLIENT", "LIST", "TYPE", "PUBSUB")
              ),
            )).every((list) => list === ""),
          "no pub/sub connection left on any master",
        );
      });
    } finally {
      await Promise.allSettled(lockers.map((l) => l.close()));
      witnessRedis.disconnect();
      console.log(`cluster test took ${Date.now() - started} ms`);
    }
  },
});

Deno.test({
  name: "Redis Cluster: a master that dies ends the leases held through it",
  async fn() {
    await using cluster = await startCluster(3);
    const locker = new Locker({ redis: cluster.client() });
    try {
      // A long lease: only noticing the lost master can end it this soon.
      const lock = await locker.lock("ledger", { expire: 600_000 });
      const slot = await cluster.slotOf("turn:{ledger}:x");
      cluster.servers[await cluster.ownerOf(slot)].process.kill("SIGKILL");
      const reason = await within(
        new Promise((resolve) =>
          lock.signal.addEventListener(
            "abort",
            () => resolve(lock.signal.reason),
          )
        ),
        10_000,
        "the lease ended after its master died",
      );
      assert.match(
        String(reason),
        /LeaseLostError: .*connection to Redis was lost/,
      );
    } finally {
      await locker.close().catch(() => {}); // its master is gone
    }
  },
});

Deno.test({
  name:
    "Redis Cluster: a Locker and the CLI given one node's address open, use and close their own Cluster",
  async fn() {
    await using cluster = await startCluster(3);
    await using witnessServer = await startRedis();
    const witnessRedis = new Redis(witnessServer.port, "127.0.0.1");
    const clientsOnMasters = async () =>
      (await Promise.all(
        cluster.admins.map((a) => a.call("CLIENT", "LIST") as Promise<string>),
      )).join("").trim().split("\n").length;
    const adminsOnly = await clientsOnMasters();
    // A resource served by another master than the one named: the Locker
    // must learn the cluster, not just talk to the node it was given.
    let resource = "ledger";
    for (let i = 0; (await ownerOf(resource)) === 0; i++) {
      resource = `ledger${i}`;
    }
    const node = [{ host: "127.0.0.1", port: cluster.servers[0].port }];
    const lockers = [0, 1, 2].map(() => new Locker({ cluster: node }));
    const witness = new Witness(witnessRedis, "witness");
    try {
      const keysSeen = new Set<string>();
      await Promise.all(lockers.map(async (locker) => {
        for (let k = 0; k < 5; k++) {
          await locker.withLock(resource, async () => {
            await witness.enter();
            const owner = cluster.admins[await ownerOf(resource)];
            for (const key of await owner.keys("turn:*")) keysSeen.add(key);
            await delay(Math.random() * 10);
            await witness.leave();
          });
        }
      }));
      assert.equal(witness.max, 1, "two users held the turn at once");
      assert.ok(
        keysSeen.has(`turn:{${resource}}:dispenser`),
        [...keysSeen].join(),
      );

      const flags = ["--cluster", `127.0.0.1:${cluster.servers[0].port}`];
      const held = await lockers[0].lock(resource, { label: "holder" });
      const json = await runCli(["status", "--json", ...flags, resource]);
      assert.equal(json.stderr, "");
      assert.deepEqual(
        JSON.parse(json.stdout)[0].users.map((u: { label: string }) => u.label),
        ["holder"],
      );
      await using run = spawnCli(["run", ...flags, resource, "--", "true"]);
      await untilQueued(lockers[1], resource, 2);
      await held.release();
      assert.deepEqual(await run.result(), {
        code: 0,
        stdout: "",
        stderr: `${resource}: waiting, 1 ahead\n`,
      });
    } finally {
      await Promise.all(lockers.map((l) => l.close()));
      witnessRedis.disconnect();
    }
    await waitFor(
      async () => (await clientsOnMasters()) === adminsOnly,
      "every connection the Lockers opened is closed",
    );

    async function ownerOf(name: string): Promise<number> {
      return await cluster.ownerOf(await cluster.slotOf(`turn:{${name}}:x`));
    }
  },
});

/** How long a move is held MIGRATING in the test that a call survives. */
const SURVIVED_MOVE_MS = 5_000;
/** Longer than a call waits for a moving slot (SLOT_MOVE_WAIT_MS + ioredis's round). */
const OUTLASTING_MOVE_MS = SLOT_MOVE_WAIT_MS + 3_000;

Deno.test({
  name:
    "Redis Cluster: release, lock and status wait out a slot held MIGRATING; past the bound the holder is told and the next user still goes as soon as the move ends",
  async fn(t) {
    await using cluster = await startCluster(3);
    await using witnessServer = await startRedis();
    const witnessRedis = new Redis(witnessServer.port, "127.0.0.1");
    const nodes = cluster.servers.map((s) => ({
      host: "127.0.0.1",
      port: s.port,
    }));
    // Long-lived Lockers with history: each has held and waited before.
    const [a, b, c] = [0, 1, 2].map(() => new Locker({ cluster: nodes }));
    try {
      for (const locker of [a, b, c, a]) {
        await (await locker.lock("warm-up")).release();
      }
      /**
       * `a` holds `resource` with the default expire, `b` waits for it; the
       * slot is held MIGRATING for `ms` while `a` releases, `c` draws for it
       * and asks its status. Resolves with what each call came to and when.
       */
      const moveDuring = async (resource: string, ms: number) => {
        const slot = await cluster.slotOf(`turn:{${resource}}:x`);
        const to = (await cluster.ownerOf(slot) + 1) % 3;
        const witness = new Witness(witnessRedis, `witness:${resource}`);
        const held = await a.lock(resource, { label: "holder" });
        await witness.enter();
        let bGranted = 0;
        const waiting = b.withLock(resource, async () => {
          bGranted = Date.now();
          await witness.enter();
          await witness.leave();
        }, { label: "waiter" });
        waiting.catch(() => {}); // awaited below
        await untilQueued(a, resource, 2);
        let moveStarted = 0;
        let moveEnded = 0;
        const calls: Promise<{ ok: boolean; at: number; error?: unknown }>[] =
          [];
        const track = (work: Promise<unknown>) =>
          calls.push(work.then(
            () => ({ ok: true, at: Date.now() - moveStarted }),
            (error) => ({ ok: false, at: Date.now() - moveStarted, error }),
          ));
        await cluster.moveSlot(slot, to, {
          batches: (keys) => [[], keys],
          between: async () => {
            moveStarted = Date.now();
            await witness.leave();
            track(held.release());
            track(
              c.lock(resource, { label: "newcomer" }).then((lock) =>
                lock.release()
              ),
            );
            track(c.status([resource]));
            await delay(ms);
          },
        });
        moveEnded = Date.now();
        const [release, draw, status] = await within(
          Promise.all(calls),
          30_000,
          "the calls made during the move",
        );
        await within(waiting, 30_000, "the waiter's turn");
        assert.equal(witness.max, 1, "two users held the turn at once");
        return {
          release,
          draw,
          status,
          grantAfterMove: bGranted - moveEnded,
          moveMs: moveEnded - moveStarted,
        };
      };

      await t.step(
        `a ${SURVIVED_MOVE_MS} ms move: every call waits it out`,
        async () => {
          const r = await moveDuring("ledger", SURVIVED_MOVE_MS);
          assert.deepEqual(
            [r.release.ok, r.draw.ok, r.status.ok],
            [true, true, true],
            String(r.release.error ?? r.draw.error ?? r.status.error),
          );
          // Nothing was answered while the slot was moving.
          for (const call of [r.release, r.draw, r.status]) {
            assert.ok(call.at >= SURVIVED_MOVE_MS, `answered at ${call.at} ms`);
          }
          console.log(
            `slot MIGRATING ${r.moveMs} ms: release done ${r.release.at} ms, ` +
              `draw ${r.draw.at} ms, status ${r.status.at} ms after it began; ` +
              `waiter granted ${r.grantAfterMove} ms after the move ended`,
          );
        },
      );

      await t.step(
        `a ${OUTLASTING_MOVE_MS} ms move: the holder is told, the waiter goes when it ends`,
        async () => {
          const r = await moveDuring("invoices", OUTLASTING_MOVE_MS);
          for (const call of [r.release, r.draw, r.status]) {
            assert.equal(call.ok, false);
            assert.ok(call.error instanceof CommandError, String(call.error));
            assert.match(
              (call.error as Error).message,
              /slot was still being moved after 10000 ms/,
            );
            assert.ok(
              call.at >= SLOT_MOVE_WAIT_MS && call.at < OUTLASTING_MOVE_MS,
              `gave up at ${call.at} ms`,
            );
          }
          // The release went on in the background: the waiter did not wait
          // for the holder's presence to lapse (60 s).
          assert.ok(r.grantAfterMove < 5_000, `${r.grantAfterMove} ms`);
          console.log(
            `slot MIGRATING ${r.moveMs} ms: release gave up ${r.release.at} ms, ` +
              `draw ${r.draw.at} ms, status ${r.status.at} ms after it began; ` +
              `waiter granted ${r.grantAfterMove} ms after the move ended`,
          );
        },
      );
    } finally {
      await Promise.allSettled([a, b, c].map((l) => l.close()));
      await quit(witnessRedis);
    }
  },
});
