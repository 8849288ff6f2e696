import assert from "node:assert/strict";
import { parseRedisUrl, redact } from "../src/connection.ts";

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
});
