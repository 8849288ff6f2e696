// The holder's own event loop is blocked for longer than `expire` (a long GC
// pause, a synchronous call). Its presence lapses, the next user is granted,
// and when the blocked holder runs again it must learn that its lease is lost
// before it acts on the resource or releases a turn that is no longer its own.
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Locker } from "../../mod.ts";
import { allKeys, waitFor } from "../support/helpers.ts";
import { presenceKey, resourceKeys } from "../../src/redis/keys.ts";
import { startRedis } from "../../support/redis_server.ts";
import { enterWitness, leaveWitness, mostInside, User } from "./_users.ts";

const EXPIRE = 1_000;
const BLOCK = 3 * EXPIRE;
const RESOURCE = "ledger";

interface Variant {
  readonly name: string;
  /** The label of the users that come after the blocked one. */
  readonly label: string;
  /**
   * Hand the turn on once more and draw again, so that the queue empties
   * and numbering restarts at the blocked holder's own number.
   */
  readonly recycle: boolean;
}

const VARIANTS: Variant[] = [
  { name: "the next user", label: "next", recycle: false },
  {
    name: "a user with its label and number, after the queue restarted",
    label: "blocked",
    recycle: true,
  },
];

for (const variant of VARIANTS) {
  Deno.test({
    name:
      `a holder blocked past expire loses its lease and leaves ${variant.name} alone`,
    fn: () => blockedHolder(variant),
  });
}

async function blockedHolder({ label, recycle }: Variant): Promise<void> {
  await using server = await startRedis();
  await using witnessServer = await startRedis();
  const redis = new Redis(server.url);
  const witness = new Redis(witnessServer.url);
  const locker = new Locker({ url: server.url });
  const blocked = new User({
    url: server.url,
    witnessUrl: witnessServer.url,
    resource: RESOURCE,
    label: "blocked",
    expire: EXPIRE,
    blockMs: BLOCK,
  });
  try {
    const first = await blocked.until("granted");
    const options = { label, expire: 60_000, timeout: 30_000 };
    let lock = await locker.lock(RESOURCE, options);
    const grantedAt = Date.now();
    if (recycle) {
      await lock.release();
      lock = await locker.lock(RESOURCE, options);
      assert.equal(lock.number, first.number, "numbering restarted");
    }
    assert.equal(await enterWitness(witness, RESOURCE, label), 1);

    const resumed = await blocked.until("resumed");
    assert.ok(grantedAt < resumed.at, "granted while the holder was blocked");
    assert.equal(resumed.lost, true, "the blocked holder knows at once");
    assert.equal(resumed.name, "LeaseLostError", resumed.message);
    await blocked.until("released");
    await blocked.exit();

    // The blocked holder's release left the current holder's turn alone.
    const keys = resourceKeys(RESOURCE);
    const presence = presenceKey(keys, lock.number);
    assert.equal(await redis.get(keys.indicator), String(lock.number));
    assert.equal(await redis.get(presence), label);
    assert.ok(await redis.pttl(presence) > EXPIRE, "presence not replaced");
    assert.equal(lock.signal.aborted, false);
    await leaveWitness(witness, RESOURCE, label);
    assert.equal(await mostInside(witness, RESOURCE), 1, "witness");
    console.log(
      `blocked holder: next user granted ${
        grantedAt - first.at
      } ms after the holder's grant (expire ${EXPIRE} ms, blocked ${BLOCK} ms)`,
    );
    await lock.release();
    await waitFor(async () => (await allKeys(redis)).length === 0, "no keys");
  } finally {
    await blocked.kill();
    await locker.close();
    redis.disconnect();
    witness.disconnect();
  }
}
