import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { redisTest } from "../support/helpers.ts";
import { newDrawToken, presenceKey } from "../../src/redis/keys.ts";
import {
  claimKey,
  numberOfTicketKey,
  sharedKeys,
  ticketKey,
} from "../../src/redis/shared_keys.ts";
import {
  SHARED_DRAW,
  SHARED_POLL,
  SHARED_RELEASE,
  SHARED_RENEW,
  SHARED_RESET,
  SHARED_STATUS,
  sharedArgs,
} from "../../src/redis/shared_scripts.ts";
import type { Script } from "../../src/redis/scripts.ts";
import { holderCount, type TurnKind } from "../../src/grant_rule.ts";

const R = "gpu";
const keys = sharedKeys(R);
const EXPIRE = 60_000;

type Reply = (string | number)[];

/** One user of the shared scripts, talking EVAL to a real server. */
class User {
  readonly token = newDrawToken();
  number = 0;
  constructor(
    readonly redis: Redis,
    readonly kind: TurnKind = "shared",
    readonly capacity = 3,
    readonly label = "user",
  ) {}

  #eval(script: Script, keyList: string[], args: (string | number)[]) {
    return this.redis.eval(
      script.lua,
      keyList.length,
      ...keyList,
      ...sharedArgs(keys),
      ...args,
    ) as Promise<Reply>;
  }

  async draw(options: { try?: boolean; expire?: number } = {}) {
    const reply = await this.#eval(
      SHARED_DRAW,
      [keys.line, claimKey(keys, this.token)],
      [
        this.label,
        options.expire ?? EXPIRE,
        options.try ? 1 : 0,
        this.token,
        this.kind,
        this.capacity,
        keys.plain.fence,
        keys.plain.dispenser,
        keys.plain.indicator,
        keys.plain.presencePrefix,
      ],
    );
    if (Number(reply[0]) > 0) this.number = Number(reply[0]);
    return reply;
  }

  poll(expire = EXPIRE) {
    return this.#eval(SHARED_POLL, [keys.line, claimKey(keys, this.token)], [
      this.number,
      this.token,
      expire,
      keys.plain.fence,
    ]);
  }

  renew() {
    return this.#eval(SHARED_RENEW, [keys.line, claimKey(keys, this.token)], [
      this.number,
      this.token,
      EXPIRE,
    ]);
  }

  release(outcome = "completed") {
    return this.#eval(
      SHARED_RELEASE,
      [keys.line, claimKey(keys, this.token)],
      [this.number, this.token, outcome],
    );
  }

  /** Dies without a word: its keys go, as when their TTL runs out. */
  async die() {
    await this.redis.del(
      ticketKey(keys, this.number),
      claimKey(keys, this.token),
    );
  }
}

function status(redis: Redis) {
  return redis.eval(
    SHARED_STATUS.lua,
    1,
    keys.line,
    ...sharedArgs(keys),
    keys.plain.fence,
  ) as Promise<Reply>;
}

/** The numbers that hold, by the status script. */
async function holding(redis: Redis): Promise<number[]> {
  const reply = await status(redis);
  if (reply.length === 0) return [];
  const granted = Number(reply[1]);
  const out: number[] = [];
  for (let i = 4; i < reply.length; i += 4) {
    if (Number(reply[i]) <= granted) out.push(Number(reply[i]));
  }
  return out;
}

/** Keys left in the database, but the fence key. */
async function leftovers(redis: Redis): Promise<string[]> {
  const all = await redis.keys("*");
  return all.filter((k) => k !== keys.plain.fence).sort();
}

redisTest(
  "shared: capacity 3 grants the first three, then in ticket order",
  async ({ redis }) => {
    const users = Array.from({ length: 5 }, () => new User(redis));
    const replies = [];
    for (const user of users) replies.push(await user.draw());
    assert.deepEqual(replies.map((r) => r.slice(0, 2)), [
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 0],
      [5, 0],
    ]);
    assert.deepEqual(replies[4].slice(2, 3), [4]); // four users ahead of 5
    assert.deepEqual(await holding(redis), [1, 2, 3]);
    // A place freed out of order goes to the next ticket, never a later one.
    const wakes: string[] = [];
    const sub = redis.duplicate();
    await sub.subscribe(keys.wake);
    sub.on("message", (_channel, payload) => wakes.push(payload));
    try {
      assert.deepEqual(await users[1].release(), [1, 1]);
      assert.deepEqual(await holding(redis), [1, 3, 4]);
      assert.equal((await users[4].poll())[0], 0);
      assert.equal((await users[3].poll())[0], 1);
      for (const user of [users[0], users[2], users[3], users[4]]) {
        await user.poll();
        await user.release();
      }
      await sub.ping(); // every message published before this reply has arrived
      assert.deepEqual(wakes.map((w) => numberOfTicketKey(keys, w)), [4, 5]);
    } finally {
      sub.disconnect();
    }
    assert.deepEqual(await leftovers(redis), []);
  },
);

redisTest(
  "shared: readers hold together, a writer alone, and no reader passes a waiting writer",
  async ({ redis }) => {
    const r1 = new User(redis, "shared", 0);
    const r2 = new User(redis, "shared", 0);
    const w = new User(redis, "exclusive", 0);
    const r3 = new User(redis, "shared", 0);
    assert.equal((await r1.draw())[1], 1);
    assert.equal((await r2.draw())[1], 1);
    assert.equal((await w.draw())[1], 0);
    assert.equal((await r3.draw())[1], 0);
    assert.deepEqual(await holding(redis), [1, 2]);
    await r1.release();
    assert.deepEqual(await holding(redis), [2]);
    await r2.release();
    assert.deepEqual(await holding(redis), [3]);
    assert.equal((await r3.poll())[0], 0);
    assert.equal((await w.poll())[0], 1);
    await w.release();
    assert.equal((await r3.poll())[0], 1);
    await r3.release();
    assert.deepEqual(await leftovers(redis), []);
  },
);

redisTest(
  "shared: every user must agree on the capacity, unless the queue is idle",
  async ({ redis }) => {
    const a = new User(redis, "shared", 3);
    await a.draw();
    const withoutTtls = (reply: Reply) =>
      reply.filter((_, i) => i < 4 || (i - 4) % 4 !== 2);
    const before = withoutTtls(await status(redis));
    const b = new User(redis, "shared", 2);
    assert.deepEqual(await b.draw(), [-2, 3]);
    assert.deepEqual(await b.draw({ try: true }), [-2, 3]);
    assert.deepEqual(withoutTtls(await status(redis)), before);
    assert.equal(await redis.exists(claimKey(keys, b.token)), 0);
    await a.release();
    // Idle: no state is left, so the next user sets a new capacity.
    assert.deepEqual((await b.draw()).slice(0, 2), [1, 1]);
    assert.equal((await status(redis))[0], 2);
    await b.release();
  },
);

redisTest(
  "shared: a resource with plain users refuses shared ones",
  async ({ redis }) => {
    await redis.mset(keys.plain.dispenser, 1, keys.plain.indicator, 1);
    await redis.set(presenceKey(keys.plain, 1), "plain user", "PX", EXPIRE);
    assert.deepEqual(await new User(redis).draw(), [-3, 0]);
    assert.deepEqual(
      await leftovers(redis),
      [
        keys.plain.dispenser,
        keys.plain.indicator,
        presenceKey(keys.plain, 1),
      ].sort(),
    );
    // A plain queue whose users are gone does not count.
    await redis.del(presenceKey(keys.plain, 1));
    const user = new User(redis);
    assert.equal((await user.draw())[1], 1);
    await user.release();
  },
);

redisTest(
  "shared: a dead holder's place goes to the next when its ticket expires",
  async ({ redis }) => {
    const holder = new User(redis, "exclusive", 3);
    await holder.draw({ expire: 300 });
    const waiter = new User(redis, "shared", 3);
    const reply = await waiter.draw();
    assert.equal(reply[1], 0);
    const ttl = Number(reply[3]);
    assert.ok(ttl > 0 && ttl <= 300, `the waiter learns when to look: ${ttl}`);
    // The line outlives every ticket.
    assert.ok((await redis.pttl(keys.line)) >= EXPIRE - 1000);
    while (await redis.exists(ticketKey(keys, 1))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await waiter.poll())[0], 1);
    assert.deepEqual(await holder.renew(), 0);
    assert.deepEqual(await holder.release(), [0, 0]);
    await waiter.release();
    assert.deepEqual(await leftovers(redis), []);
  },
);

redisTest(
  "shared: a queue whose users all died leaves no keys",
  async ({ redis }) => {
    const a = new User(redis);
    await a.draw({ expire: 200 });
    const b = new User(redis);
    await b.draw({ expire: 100 });
    assert.ok((await redis.pttl(keys.line)) <= 200);
    while ((await leftovers(redis)).length > 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
  },
);

redisTest(
  "shared: a dead waiter is skipped without delaying the ones behind",
  async ({ redis }) => {
    const users = [
      new User(redis, "exclusive", 0),
      new User(redis, "exclusive", 0),
      new User(redis, "shared", 0),
    ];
    for (const user of users) await user.draw();
    await users[1].die();
    await users[0].release();
    assert.deepEqual(await holding(redis), [3]);
    assert.equal((await users[1].poll())[0], -1);
    assert.equal((await users[2].poll())[0], 1);
    await users[2].release();
    assert.deepEqual(await leftovers(redis), []);
  },
);

redisTest(
  "shared: scripts sent twice do their work once",
  async ({ redis }) => {
    const a = new User(redis);
    const b = new User(redis, "exclusive");
    await a.draw();
    const first = await b.draw();
    assert.deepEqual((await b.draw()).slice(0, 3), first.slice(0, 3));
    assert.equal((await status(redis))[2], 2); // no ghost number
    assert.deepEqual(await a.release(), [1, 0]);
    assert.deepEqual(await a.release(), [0, 0]);
    assert.deepEqual(await holding(redis), [2]);
    const poll = await b.poll();
    assert.equal(poll[0], 1);
    const again = await b.draw();
    assert.equal(again[0], 2);
    assert.equal(again[1], 1);
    assert.ok(BigInt(again[2]) > BigInt(poll[1]), "each grant a new fence");
    await b.release();
    assert.deepEqual(await b.release(), [0, 0]);
    assert.deepEqual(await leftovers(redis), []);
  },
);

redisTest(
  "shared: tryLock draws only when it would hold at once",
  async ({ redis }) => {
    const a = new User(redis, "shared", 2);
    assert.equal((await a.draw({ try: true }))[1], 1);
    const w = new User(redis, "exclusive", 2);
    assert.deepEqual(await w.draw({ try: true }), [0, 0]);
    const b = new User(redis, "shared", 2);
    assert.equal((await b.draw({ try: true }))[1], 1);
    const c = new User(redis, "shared", 2);
    assert.deepEqual(await c.draw({ try: true }), [0, 0]);
    assert.equal((await status(redis))[2], 2);
    await a.release();
    await b.release();
    assert.deepEqual(await leftovers(redis), []);
  },
);

redisTest(
  "shared: the waiting newest user gives its number back",
  async ({ redis }) => {
    const a = new User(redis, "exclusive");
    const b = new User(redis, "exclusive");
    await a.draw();
    await b.draw();
    assert.deepEqual(await b.release("left"), [0, 1]);
    assert.equal((await status(redis))[2], 1);
    await a.release();
  },
);

redisTest(
  "shared: reset grants what dead users held up and removes an idle queue",
  async ({ redis }) => {
    const reset = (forget: boolean) =>
      redis.eval(
        SHARED_RESET.lua,
        1,
        keys.line,
        ...sharedArgs(keys),
        forget ? 1 : 0,
        keys.plain.fence,
        keys.plain.dispenser,
      ) as Promise<Reply>;
    assert.deepEqual(await reset(false), ["missing", 0]);
    const a = new User(redis, "exclusive");
    const b = new User(redis, "exclusive");
    await a.draw();
    await b.draw();
    await a.die();
    assert.deepEqual(await reset(false), ["in-use", 1]);
    assert.deepEqual(await holding(redis), [2]);
    await b.die();
    assert.ok(await redis.exists(keys.plain.fence));
    assert.deepEqual(await reset(true), ["reset", 0]);
    assert.deepEqual(await redis.keys("*"), []);
  },
);

redisTest(
  "shared: the scripts grant exactly what the grant rule says",
  async ({ redis }) => {
    let seed = 42;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let round = 0; round < 6; round++) {
      const capacity = [0, 1, 2, 3, 5, 0][round];
      let live: User[] = [];
      let granted = new Set<number>();
      for (let step = 0; step < 80; step++) {
        const roll = random();
        if (roll < 0.45 || live.length === 0) {
          const user = new User(
            redis,
            random() < 0.25 ? "exclusive" : "shared",
            capacity,
          );
          await user.draw();
          live.push(user);
        } else {
          const user = live[Math.floor(random() * live.length)];
          if (roll < 0.85) await user.release();
          else await user.die();
          live = live.filter((u) => u !== user);
          // Whoever comes next settles what a death left behind.
          if (live.length > 0) await live[0].poll();
        }
        const expected = holderCount(live, capacity);
        const holders = await holding(redis);
        assert.deepEqual(
          holders,
          live.slice(0, expected).map((u) => u.number),
          `round ${round} step ${step}`,
        );
        // Holding is for good: nobody granted ever stops holding while live.
        for (const n of granted) {
          if (live.some((u) => u.number === n)) assert.ok(holders.includes(n));
        }
        granted = new Set(holders);
      }
      for (const user of live) await user.release();
      assert.deepEqual(await leftovers(redis), []);
    }
  },
);

redisTest("shared: renew holds only for the holder", async ({ redis }) => {
  const a = new User(redis, "exclusive");
  const b = new User(redis, "exclusive");
  await a.draw();
  await b.draw();
  assert.equal(await a.renew(), 1);
  assert.equal(await b.renew(), 0);
  await a.release("crashed");
  assert.equal((await b.poll())[0], 1);
  assert.equal(await b.renew(), 1);
  await b.release();
});

Deno.test("shared keys: one family turn 1.0 never reads, one slot with hash tags", () => {
  assert.deepEqual(
    { ...sharedKeys("gpu"), plain: undefined },
    {
      resource: "gpu",
      line: "turn:gpu:line",
      ticketPrefix: "turn:gpu:ticket:",
      claimPrefix: "turn:gpu:claim:",
      wake: "turn:gpu:wake",
      plain: undefined,
    },
  );
  const tagged = sharedKeys("gpu", true);
  assert.equal(tagged.line, "turn:{gpu}:line");
  assert.equal(ticketKey(tagged, 3), "turn:{gpu}:ticket:3");
  assert.equal(tagged.plain.fence, "turn:{gpu}:fence");
  assert.throws(() => sharedKeys("}x", true), RangeError);
});

/** Whether `key` matches a Redis glob `pattern` (only `*` is used here). */
function globMatches(pattern: string, key: string): boolean {
  const source = pattern.split("*").map((part) =>
    part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
  ).join(".*");
  return new RegExp(`^${source}$`).test(key);
}

Deno.test("shared keys: turn 1.0's patterns never match them, for any resource", () => {
  for (const resource of ["gpu", "a:b", "x:serial", "x:line", "{t}"]) {
    const keys = sharedKeys(resource);
    const names = [
      keys.line,
      ticketKey(keys, 7),
      claimKey(keys, newDrawToken()),
    ];
    for (const name of names) {
      // turn 1.0 finds resources by their dispenser and reads the counters.
      assert.ok(!globMatches("turn:*:dispenser", name), name);
      assert.ok(!globMatches("turn:*:indicator", name), name);
      // Its presences of the same resource are serial:<n>.
      assert.ok(!globMatches(`turn:${resource}:serial:*`, name), name);
    }
  }
});
