/**
 * Calls made while Redis is away: they wait for Redis within their timeout,
 * report the real reason, and never hand an ioredis error to the caller.
 */

import assert from "node:assert/strict";
import {
  CommandError,
  ConnectionError,
  LeaseLostError,
  Locker,
  TimeoutError,
} from "../../mod.ts";
import {
  allKeys,
  leaseLost,
  redisTest,
  untilCleared,
  untilQueued,
  within,
} from "../support/helpers.ts";
import { startRedis } from "../../support/redis_server.ts";

/** ioredis gives up a command after about 4.5 s of reconnecting. */
const IOREDIS_GIVES_UP_MS = 4500;

/** Resolves with what `promise` rejected with; fails if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    (value) => assert.fail(`resolved with ${value}`),
    (error) => error,
  );
}

redisTest(
  "withLock rejects with the LeaseLostError, at once, when Redis dies while it holds",
  async (t) => {
    const locker = t.locker();
    let diedAt = 0;
    const result = locker.withLock("printer", async (lock) => {
      await t.server.stop("SIGKILL");
      diedAt = Date.now();
      await leaseLost(lock);
      return "done";
    });
    const error = await within(rejection(result), 10_000, "withLock");
    assert.ok(error instanceof LeaseLostError, String(error));
    const after = Date.now() - diedAt;
    assert.ok(after < IOREDIS_GIVES_UP_MS - 1500, `rejected after ${after} ms`);
  },
);

redisTest(
  "while Redis is away, every call rejects with this module's errors",
  async (t) => {
    const locker = t.locker();
    const held = await locker.lock("held");
    await t.server.stop("SIGKILL");
    const calls = {
      lock: locker.lock("r"),
      tryLock: locker.tryLock("r"),
      lockAll: locker.lockAll(["r", "s"]),
      status: locker.status(["r"]),
      statusAll: locker.status(),
      reset: locker.reset(["r"]),
      follow: locker.follow(["r"]).ready,
    };
    // A lost lease claims nothing: releasing it needs no Redis.
    await within(held.release(), 1000, "release of the lost lease");
    const errors = await within(
      Promise.all(Object.values(calls).map(rejection)),
      20_000,
      "every call settled",
    );
    for (const [index, name] of Object.keys(calls).entries()) {
      const error = errors[index];
      assert.ok(
        error instanceof ConnectionError,
        `${name}: ${(error as Error)?.name}: ${error}`,
      );
      assert.match(
        error.message,
        new RegExp(`127\\.0\\.0\\.1:${t.server.port}`),
      );
      assert.ok(error.cause instanceof Error, `${name}: a cause`);
    }
  },
);

redisTest(
  "lock() during an outage longer than ioredis's retries waits for Redis within its timeout",
  async (t) => {
    const locker = t.locker();
    await (await locker.lock("r")).release();
    await t.server.stop("SIGKILL");
    const waiting = locker.lock("r", { timeout: 30_000 });
    const timeout = IOREDIS_GIVES_UP_MS + 1500;
    const started = Date.now();
    const gaveUp = locker.lock("other", { timeout });
    const error = await within(rejection(gaveUp), 20_000, "the short wait");
    assert.ok(error instanceof TimeoutError, String(error));
    const late = Date.now() - started - timeout;
    assert.ok(late < 1000, `timed out ${late} ms late`);
    await using _back = await startRedis({ port: t.server.port });
    const lock = await within(waiting, 20_000, "turn once Redis is back");
    assert.equal(lock.number, 1);
    await lock.release();
  },
);

redisTest(
  "a Locker whose first connection is refused waits for Redis within its timeout (chaos F1, seeds 7 and 10)",
  async (t) => {
    await t.server.stop("SIGKILL");
    const early = new Locker({ url: t.server.url });
    const late = new Locker({ url: t.server.url });
    try {
      const started = Date.now();
      const error = await within(
        rejection(early.lock("r", { timeout: 700 })),
        10_000,
        "the short wait",
      );
      assert.ok(error instanceof TimeoutError, String(error));
      assert.ok(Date.now() - started >= 700, "rejected before its timeout");
      const waiting = late.lock("r", { timeout: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await using _back = await startRedis({ port: t.server.port });
      const lock = await within(waiting, 20_000, "turn once Redis is up");
      await lock.release();
    } finally {
      await Promise.all([early.close(), late.close()]);
    }
  },
);

redisTest(
  "a wait aborted while its Locker connects to a stalled Redis rejects at once with the signal's reason (chaos seed 208)",
  async (t) => {
    t.server.process.kill("SIGSTOP");
    const locker = new Locker({ url: t.server.url });
    try {
      const controller = new AbortController();
      const waiting = locker.lock("r", { signal: controller.signal });
      const reason = new Error("no longer needed");
      setTimeout(() => controller.abort(reason), 300);
      const started = Date.now();
      assert.equal(
        await within(rejection(waiting), 10_000, "the aborted wait"),
        reason,
      );
      const after = Date.now() - started;
      assert.ok(after < 2000, `rejected ${after} ms after the call`);
    } finally {
      t.server.process.kill("SIGCONT");
      await locker.close();
    }
  },
);

redisTest(
  "a refused script rejects with a CommandError that keeps Redis's reply",
  async (t) => {
    const locker = t.locker();
    await locker.status();
    await t.redis.config("SET", "maxmemory", "1");
    await t.redis.config("SET", "maxmemory-policy", "noeviction");
    const error = await within(rejection(locker.lock("r")), 10_000, "lock");
    assert.ok(error instanceof CommandError, String(error));
    assert.match(error.message, /OOM/);
    assert.equal((error.cause as Error).name, "ReplyError");
  },
);

redisTest(
  "a refused release rejects with a CommandError that keeps Redis's reply",
  async (t) => {
    const locker = t.locker();
    // A Locker with a past: it has held and handed over before.
    await (await locker.lock("r", { expire: 1_000 })).release();
    const held = await locker.lock("r", { expire: 1_000 });
    await t.redis.call("ACL", "SETUSER", "default", "-evalsha", "-eval");
    const error = await within(rejection(held.release()), 10_000, "release");
    await t.redis.call("ACL", "SETUSER", "default", "+evalsha", "+eval");
    assert.ok(error instanceof CommandError, String(error));
    assert.match(error.message, /NOPERM/);
    assert.equal((error.cause as Error).name, "ReplyError");
    // The turn left behind passes on once its presence lapses.
    await (await within(locker.lock("r"), 10_000, "the next turn")).release();
  },
);

redisTest(
  "FLUSHALL behaves like a Redis that lost its keys: the holder loses its lease, a waiter draws again and is served",
  async (t) => {
    // Labels apart: one label for both is the same-label case, which needs
    // a per-draw identity to be told apart (issue 12).
    const holder = await t.locker().lock("r", { label: "h", expire: 600 });
    const locker = t.locker();
    const waiting = locker.lock("r", { label: "w", expire: 600 });
    await untilQueued(locker, "r", 2);
    await t.redis.flushall();
    assert.ok(await leaseLost(holder) instanceof LeaseLostError);
    const lock = await within(waiting, 5000, "the waiter, after drawing again");
    assert.equal(lock.number, 1);
    await lock.release();
    await holder.release();
    await untilCleared(locker, ["r"], () => allKeys(t.redis));
  },
);

redisTest(
  "a wait that times out on a Redis it never reached says so, with the address and the last error",
  async (t) => {
    await t.server.stop("SIGKILL");
    const locker = t.locker();
    const error = await within(
      rejection(locker.lock("r", { timeout: 700 })),
      20_000,
      "the wait",
    );
    assert.ok(error instanceof TimeoutError, String(error));
    const address = `127.0.0.1:${t.server.port}`;
    assert.equal(
      error.message,
      `timed out after 700 ms waiting for "r": Redis at ${address} could not be reached during the wait (last error: connect ECONNREFUSED ${address})`,
    );
    assert.ok(error.unreachable instanceof ConnectionError);
    assert.equal(error.unreachable.address, address);
    assert.equal(error.cause, error.unreachable);
    assert.equal(error.ahead, 0);
  },
);

redisTest(
  "a lockAll that times out on a Redis it never reached says so too",
  async (t) => {
    await t.server.stop("SIGKILL");
    const error = await within(
      rejection(t.locker().lockAll(["a", "b"], { timeout: 700 })),
      20_000,
      "the wait",
    );
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.timeout, 700);
    assert.match(error.message, /could not be reached during the wait/);
    assert.ok(error.unreachable instanceof ConnectionError);
  },
);

redisTest(
  "a waiter whose Redis dies before its timeout says Redis could not be reached, and how many were ahead when last seen",
  async (t) => {
    await t.locker().lock("r", { label: "holder" });
    const locker = t.locker();
    const waiting = rejection(
      locker.lock("r", { label: "waiter", timeout: 3000 }),
    );
    await untilQueued(locker, "r", 2);
    await t.server.stop("SIGKILL");
    const error = await within(waiting, 20_000, "the wait");
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(
      error.message,
      new RegExp(
        `: Redis at 127\\.0\\.0\\.1:${t.server.port} could not be reached during the wait \\(last error: .+\\); 1 user\\(s\\) were ahead when last seen$`,
      ),
    );
    assert.equal(error.ahead, 1);
  },
);
