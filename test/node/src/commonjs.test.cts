// A CommonJS app (what `nest new` generates) can `require` the package: it is
// ESM without top-level await, which Node 20.19+ loads through require().
import assert = require("node:assert/strict");
import test = require("node:test");
import turn = require("@turn/turn");
import nestjs = require("@turn/turn/nestjs");

test("require('@turn/turn') and '@turn/turn/nestjs' work from CommonJS", async () => {
  const { startRedis } = await import("./redis.js");
  await using server = await startRedis();
  await using locker = new turn.Locker({ url: server.url });
  const held = await locker.withLock("printer", (lock) => lock.number);
  assert.equal(held, 1);
  assert.equal(typeof nestjs.Turn, "function");
});
