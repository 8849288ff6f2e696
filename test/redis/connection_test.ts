import assert from "node:assert/strict";
import { parseRedisUrl, redact } from "../../src/redis/url.ts";
import { Redis } from "ioredis";
import { ConnectionError, Locker } from "../../mod.ts";
import { freePort } from "../../support/redis_server.ts";
import { within } from "../support/helpers.ts";

Deno.test("redis URLs carry turn 1.0's connection words", () => {
  assert.deepEqual(parseRedisUrl("redis://localhost:6379/0"), {
    host: "localhost",
    port: 6379,
    db: 0,
  });
  assert.deepEqual(parseRedisUrl("rediss://user:p%40ss@example.com/3"), {
    host: "example.com",
    port: 6379,
    db: 3,
    username: "user",
    password: "p@ss",
    tls: {},
  });
  assert.equal(parseRedisUrl("redis://[::1]:7000").host, "::1");
});

Deno.test("bad URLs are rejected with the rule and the value, password hidden", () => {
  assert.throws(
    () => parseRedisUrl("nonsense"),
    /valid redis:\/\/ or rediss:\/\/ URL: got "nonsense"/,
  );
  assert.throws(
    () => parseRedisUrl("redis://h/x"),
    /db must be a non-negative integer: got "x"/,
  );
  assert.throws(
    () => parseRedisUrl("redis://h:0"),
    /port must be an integer from 1 to 65535/,
  );
  assert.throws(
    () => parseRedisUrl("http://u:secret@h"),
    (e: Error) => !e.message.includes("secret") && e.message.includes("u:***@"),
  );
  assert.equal(redact("redis://:pw@h:1/0"), "redis://***@h:1/0");
  // Typos without both slashes still hide the password.
  for (const url of ["redis:/u:s3cret@h:6379", "redis:u:s3cret@h"]) {
    assert.throws(
      () => new Locker({ url }),
      (e: Error) =>
        !e.message.includes("s3cret") && e.message.includes("u:***@"),
    );
  }
});

Deno.test("sentinel options are checked, and name the master group in messages", async () => {
  const sentinels = [{ host: "127.0.0.1", port: 26379 }];
  assert.throws(
    () => new Locker({ sentinels: [], name: "m" }),
    /sentinels must be a non-empty array of \{ host, port \}: got \[\]/,
  );
  assert.throws(
    () => new Locker({ sentinels: [{ host: "h", port: 0 }], name: "m" }),
    /port must be an integer from 1 to 65535: got 0/,
  );
  assert.throws(
    () => new Locker({ sentinels }),
    /name \(the sentinels' master group\) must be a non-empty string: got undefined/,
  );
  assert.throws(
    () => new Locker({ sentinels, name: "m", url: "redis://u:secret@h" }),
    (e: Error) =>
      e instanceof TypeError &&
      /drop url, host and port: got url$/.test(e.message) &&
      !e.message.includes("secret"),
  );
  // Nothing listens on a port from freePort(): the error names the group.
  const locker = new Locker({
    sentinels: [{ host: "127.0.0.1", port: freePort() }],
    name: "orders",
    connectTimeout: 500,
    password: "secret",
  });
  const error = await locker.status(["x"]).catch((e) => e);
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(error.message, /sentinel master "orders"/);
  assert.ok(!error.message.includes("secret"));
  await locker.close();
});

Deno.test("cluster options are checked, and name the nodes in messages", async () => {
  const cluster = [{ host: "127.0.0.1", port: 7000 }];
  assert.throws(
    () => new Locker({ cluster: [] }),
    /cluster must be a non-empty array of \{ host, port \}: got \[\]/,
  );
  assert.throws(
    () => new Locker({ cluster: [cluster[0], { host: "h", port: 70000 }] }),
    /cluster\[1\]\.port must be an integer from 1 to 65535: got 70000$/,
  );
  assert.throws(
    () => new Locker({ cluster, db: 2 }),
    /db must be 0 on a Redis Cluster, which has only database 0: got 2$/,
  );
  assert.throws(
    () => new Locker({ cluster, host: "cache" }),
    /drop url, host, port, sentinels and name: got host$/,
  );
  // A URL given as a node by mistake: described, its password never shown.
  assert.throws(
    () =>
      new Locker({
        cluster: ["redis://:hunter2@10.0.0.1:7000"] as never,
      }),
    (e: Error) =>
      /^cluster\[0\] must be \{ host, port \} with a non-empty host: got string$/
        .test(e.message),
  );
  assert.throws(
    () => new Locker({ redis: new Redis({ lazyConnect: true }), cluster }),
    /a borrowed client \(redis\) is already configured: drop the other connection options: got cluster$/,
  );
  assert.throws(
    () => new Locker({ cluster, url: "file:///tmp/turn" }),
    /a file: url cannot be combined with .*: got cluster$/,
  );
  assert.throws(
    () => new Locker({ cluster, hashTag: false }),
    /hashTag must be true with a Redis Cluster/,
  );
  // Nothing listens on a port from freePort(): the error names the nodes.
  const port = freePort();
  const locker = new Locker({
    cluster: [{ host: "127.0.0.1", port }],
    connectTimeout: 500,
    password: "secret",
  });
  const error = await locker.status(["x"]).catch((e) => e);
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(
    error.message,
    new RegExp(`Redis Cluster 127\\.0\\.0\\.1:${port}`),
  );
  assert.ok(!error.message.includes("secret"));
  await locker.close();
});

Deno.test("a signal aborted before lock() ends it while the Locker is still connecting", async () => {
  // Nothing listens on a port from freePort(): the connection never comes.
  const locker = new Locker({ url: `redis://127.0.0.1:${freePort()}` });
  const reason = new Error("stop");
  const locking = locker.lock("r", { signal: AbortSignal.abort(reason) });
  await within(
    assert.rejects(locking, (e) => e === reason),
    5000,
    "the aborted lock rejects",
  );
  await locker.close();
});
