// Soak: 16 processes take turns on 8 resources, holding each turn for a
// random time, while holders and waiters are killed with SIGKILL at random.
// The witness (on a separate Redis) must never see two users inside one
// resource, no wait may run out, and every survivor must finish.
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Locker } from "../../mod.ts";
import { allKeys, waitFor } from "../support/helpers.ts";
import { startRedis } from "../../support/redis_server.ts";
import {
  grantTimes,
  holders,
  leaveWitness,
  mostInside,
  overlaps,
  type SoakConfig,
  User,
} from "./_users.ts";

const PROCESSES = 16;
const RESOURCES = Array.from({ length: 8 }, (_, i) => `soak-${i + 1}`);
const CYCLES = 25;
const KILLS = 8;
const EXPIRE = 1_000;

interface Kill {
  readonly label: string;
  readonly at: number;
  /** The resource it was inside when killed, if any. */
  readonly resource?: string;
}

function randomDelay(): Promise<void> {
  return new Promise((r) => setTimeout(r, 100 + Math.random() * 500));
}

/** Kills KILLS workers, holders and others in turn, while they run. */
async function killSome(
  workers: readonly User[],
  alive: Set<User>,
  witness: Redis,
): Promise<Kill[]> {
  const kills: Kill[] = [];
  await waitFor(
    async () => Object.keys(await holders(witness)).length > 0,
    "a first grant",
    60_000,
  );
  while (kills.length < KILLS && alive.size > 0) {
    await randomDelay();
    const inside = await holders(witness);
    const wantHolder = kills.length % 2 === 0;
    const candidates = workers.filter((w) =>
      alive.has(w) && (w.label in inside) === wantHolder
    );
    if (candidates.length === 0) continue;
    const victim = candidates[Math.floor(Math.random() * candidates.length)];
    const at = Date.now();
    await victim.kill("SIGKILL");
    alive.delete(victim);
    // Whatever it was inside, it left when it died.
    const resource = (await holders(witness))[victim.label];
    if (resource) await leaveWitness(witness, resource, victim.label);
    kills.push({ label: victim.label, at, resource });
  }
  return kills;
}

/** The longest time from a holder's death to the next grant of its resource. */
async function maxRecovery(witness: Redis, kills: Kill[]): Promise<number> {
  let longest = 0;
  for (const { resource, at } of kills) {
    if (!resource) continue;
    const next = (await grantTimes(witness, resource)).find((t) => t > at);
    if (next !== undefined) longest = Math.max(longest, next - at);
  }
  return longest;
}

Deno.test({
  name: "soak: 16 processes, 8 resources, random SIGKILLs, no overlap",
  async fn() {
    await using server = await startRedis();
    await using witnessServer = await startRedis();
    const redis = new Redis(server.url);
    const witness = new Redis(witnessServer.url);
    const workers = Array.from({ length: PROCESSES }, (_, i) => {
      const config: SoakConfig = {
        url: server.url,
        witnessUrl: witnessServer.url,
        resource: RESOURCES[0],
        resources: RESOURCES,
        label: `worker ${i + 1}`,
        cycles: CYCLES,
        expire: EXPIRE,
        timeout: 60_000,
        maxHoldMs: 200,
      };
      return new User(config, "soak_worker.ts");
    });
    const alive = new Set(workers);
    for (const worker of workers) {
      worker.status.then(() => alive.delete(worker));
    }
    const startedAt = Date.now();
    try {
      const kills = await killSome(workers, alive, witness);
      const survivors = workers.filter((w) =>
        !kills.some((k) => k.label === w.label)
      );
      await Promise.all(survivors.map((w) => w.exit(120_000)));
      const reports = survivors.map((w) => {
        const done = w.find("done");
        assert.ok(done, `${w.label} reported done`);
        return done;
      });
      const grants = (await Promise.all(
        RESOURCES.map((r) => grantTimes(witness, r)),
      )).flat().length;
      const figures = {
        processes: PROCESSES,
        resources: RESOURCES.length,
        cycles: grants,
        kills: kills.length,
        holdersKilled: kills.filter((k) => k.resource).length,
        overlaps: await overlaps(witness),
        maxWaitMs: Math.max(...reports.map((r) => r.maxWait!)),
        maxRecoveryMs: await maxRecovery(witness, kills),
        lostLeases: reports.reduce((sum, r) => sum + r.lostLeases!, 0),
        timeouts: reports.reduce((sum, r) => sum + r.timeouts!, 0),
        expireMs: EXPIRE,
        seconds: Math.round((Date.now() - startedAt) / 1000),
      };
      console.log(`soak: ${JSON.stringify(figures)}`);
      assert.equal(figures.overlaps, 0, "witness saw an overlap");
      for (const r of RESOURCES) assert.ok(await mostInside(witness, r) <= 1);
      assert.equal(figures.timeouts, 0, "a wait ran out");
      assert.ok(
        figures.cycles >= (PROCESSES - KILLS) * CYCLES,
        "every survivor finished its cycles",
      );

      // Presences of the killed lapse within expire. A queue whose last user
      // was killed keeps its two counters (nobody is left to remove them;
      // see docs/GUARANTEES.md) until its next user, whose draw removes them.
      await waitFor(
        async () => (await redis.keys("turn:*:serial:*")).length === 0,
        "presences of killed users lapse",
      );
      const left = await allKeys(redis);
      for (const key of left) {
        assert.match(key, /^turn:soak-\d:(dispenser|indicator)$/);
      }
      const leftBehind = new Set(left.map((k) => k.split(":")[1]));
      console.log(
        `soak: queues left behind by killed users: ${leftBehind.size}`,
      );
      await using locker = new Locker({ url: server.url });
      for (const resource of leftBehind) {
        await (await locker.lock(resource, { timeout: 10_000 })).release();
      }
      assert.deepEqual(await allKeys(redis), []);
    } finally {
      await Promise.all(workers.map((w) => w.kill()));
      redis.disconnect();
      witness.disconnect();
    }
  },
});
