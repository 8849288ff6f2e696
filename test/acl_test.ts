/**
 * Least privilege: every API call and every CLI command works as a Redis ACL
 * user made from exactly the rule docs/SECURITY.md gives, and that rule names no
 * command turn does not send.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { ConnectionError, Locker, TimeoutError } from "../mod.ts";
import { EXTERNAL_PATTERN } from "../src/protocol.ts";
import { allKeys, untilQueued, within } from "./_helpers.ts";
import { type RedisServer, startRedis } from "../support/redis_server.ts";
import { runCli, spawnCli, subscribed } from "./cli_helpers.ts";

const PASSWORD = "acl-test-secret";
const DB = 1;

/** The rules after `ACL SETUSER turn` in docs/SECURITY.md's least-privilege line. */
async function readmeRules(): Promise<string> {
  const readme = await Deno.readTextFile(
    new URL("../docs/SECURITY.md", import.meta.url),
  );
  const line = /^ACL SETUSER turn (.*)$/m.exec(readme);
  assert.ok(line, "docs/SECURITY.md has no `ACL SETUSER turn ...` line");
  return line[1].replace(">PASSWORD", `>${PASSWORD}`);
}

/** The `+command` names of an ACL rule. */
function commandsOf(rules: string): string[] {
  return rules.split(" ").filter((w) => w.startsWith("+")).map((w) =>
    w.slice(1)
  ).sort();
}

interface AclServer extends AsyncDisposable {
  readonly server: RedisServer;
  /** `redis://turn:PASSWORD@...` on database {@linkcode DB}. */
  readonly url: string;
  /** An unrestricted client, for looking at what turn did. */
  readonly admin: Redis;
  readonly adminUrl: string;
}

/**
 * A server whose default user is off: the only ways in are `turn` with
 * `rules` and an `admin` for inspection.
 */
async function startAclServer(rules: string): Promise<AclServer> {
  const dir = await Deno.makeTempDir({ prefix: "turn-acl-" });
  const aclFile = `${dir}/users.acl`;
  await Deno.writeTextFile(
    aclFile,
    [
      "user default off",
      `user turn ${rules}`,
      `user admin on >${PASSWORD} ~* &* +@all`,
    ].join("\n") + "\n",
  );
  const server = await startRedis({ args: ["--aclfile", aclFile] });
  const base = `127.0.0.1:${server.port}/${DB}`;
  const adminUrl = `redis://admin:${PASSWORD}@${base}`;
  const admin = new Redis(adminUrl);
  return {
    server,
    url: `redis://turn:${PASSWORD}@${base}`,
    admin,
    adminUrl,
    async [Symbol.asyncDispose]() {
      admin.disconnect();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Commands the server ran (from its command statistics), by name. */
async function commandsRun(admin: Redis): Promise<Set<string>> {
  const info = await admin.info("commandstats");
  return new Set(
    [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)]
      .filter(([, , calls]) => Number(calls) > 0)
      .map(([, name]) => name),
  );
}

/** Mutual exclusion witness: INCR inside, must never exceed 1. */
async function critical(witness: Redis, max: { value: number }) {
  const inside = await witness.incr("turn:acl-test:inside");
  max.value = Math.max(max.value, inside);
  await new Promise((r) => setTimeout(r, 5));
  await witness.decr("turn:acl-test:inside");
}

async function apiRound(url: string, admin: Redis): Promise<void> {
  await using a = new Locker({ url });
  await using b = new Locker({ url });
  await using c = new Locker({ url });
  const witness = new Redis(url);
  try {
    // lock/release, contention with a witness, tryLock, lockAll.
    const max = { value: 0 };
    await Promise.all(
      [a, b, c, a, b, c].map((locker) =>
        locker.withLock("printer", () => critical(witness, max), {
          expire: 1000,
        })
      ),
    );
    assert.equal(max.value, 1);
    await using held = await a.lock("printer");
    assert.equal(await b.tryLock("printer"), null);
    // A waiter that gives up is the newest: it gives its number back (DECR).
    await assert.rejects(
      b.lock("printer", { timeout: 200 }),
      TimeoutError,
    );
    // status, follow (named and all), reset, while someone waits.
    const waiting = c.lock("printer");
    await untilQueued(a, "printer", 2);
    assert.deepEqual((await a.status()).map((s) => s.resource), ["printer"]);
    assert.equal((await a.status(["printer"]))[0].users.length, 2);
    const named = a.follow(["printer"]);
    const every = b.follow();
    await Promise.all([named.ready, every.ready]);
    await held.release();
    const next = await within(waiting, 10_000, "the waiter's turn");
    const [one, two] = await within(
      Promise.all([named.next(), every.next()]),
      5_000,
      "events",
    );
    assert.equal(one.value?.resource, "printer");
    assert.equal(two.value?.resource, "printer");
    await named.return();
    await every.return();
    assert.deepEqual(await a.reset(["printer"]), [
      { resource: "printer", outcome: "in-use", users: 1 },
    ]);
    await next.release();
    await using both = await a.lockAll(["scanner", "printer"]);
    await both.release();
    assert.deepEqual(await a.reset(), []);
  } finally {
    witness.disconnect();
  }
  assert.deepEqual(await allKeys(admin), ["turn:acl-test:inside"]);
}

async function cliRound(url: string, adminUrl: string): Promise<void> {
  await using holder = spawnCli(["lock", "--url", url, "printer"]);
  await holder.stdoutHas("printer: locked\n");
  await using follower = spawnCli(["follow", "--url", url]);
  await subscribed(adminUrl, EXTERNAL_PATTERN);
  const status = await runCli(["status", "--url", url]);
  assert.equal(status.stderr, "");
  assert.match(status.stdout, /^printer +1$/m);
  const json = await runCli(["status", "--json", "--url", url, "printer"]);
  assert.equal(JSON.parse(json.stdout)[0].users[0].label, "lock tool");
  const run = spawnCli(["run", "--url", url, "printer", "--", "true"]);
  await follower.stdoutHas('assigned to "true"');
  holder.kill("SIGINT");
  assert.deepEqual(await holder.result(), {
    code: 0,
    stdout: "printer: acquiring\nprinter: locked\nprinter: released\n",
    stderr: "",
  });
  const ran = await run.result();
  assert.deepEqual([ran.code, ran.stderr], [0, "printer: waiting, 1 ahead\n"]);
  await follower.stdoutHas("completed by");
  follower.kill("SIGTERM");
  const followed = await follower.result();
  assert.deepEqual([followed.code, followed.stderr], [0, ""]);
  const reset = await runCli(["reset", "--url", url, "printer"]);
  assert.deepEqual(reset, {
    code: 0,
    stdout: 'No such queue: "printer".\n',
    stderr: "",
  });
  assert.deepEqual(await runCli(["reset", "--url", url]), {
    code: 0,
    stdout: "",
    stderr: "",
  });
}

Deno.test({
  name:
    "every API call and CLI command works as the least-privilege ACL user, which names only commands turn sends",
  async fn() {
    const rules = await readmeRules();
    await using acl = await startAclServer(rules);
    await apiRound(acl.url, acl.admin);
    await cliRound(acl.url, acl.adminUrl);
    // Nothing was refused: no command, key or channel outside the rule.
    assert.deepEqual(await acl.admin.acl("LOG"), []);
    // Every command the rule allows was needed. The admin's own inspection
    // (info, keys, pubsub, acl) and HELLO (always allowed) are not in it.
    const run = await commandsRun(acl.admin);
    for (const own of ["hello", "keys", "pubsub|numpat", "acl|log"]) {
      run.delete(own);
    }
    assert.deepEqual([...run].sort(), commandsOf(rules));
  },
});

Deno.test({
  name:
    "a user who may not SELECT the database gets a ConnectionError, not database 0",
  async fn() {
    const rules = (await readmeRules()).replace(" +select", "");
    await using acl = await startAclServer(rules);
    await using locker = new Locker({ url: acl.url });
    await assert.rejects(
      locker.lock("printer"),
      (error: Error) =>
        error instanceof ConnectionError &&
        /cannot select database 1: NOPERM/.test(error.message),
    );
    const cli = await runCli(["status", "--url", acl.url, "printer"]);
    assert.equal(cli.code, 69);
    assert.match(cli.stderr, /^turn: .*cannot select database 1: NOPERM/);
    await acl.admin.select(0);
    assert.deepEqual(await allKeys(acl.admin), []);
  },
});

Deno.test({
  name: "a database number beyond the server's is refused, not database 0",
  async fn() {
    await using server = await startRedis({ args: ["--databases", "4"] });
    await using locker = new Locker({
      url: `redis://127.0.0.1:${server.port}/9`,
    });
    await assert.rejects(
      locker.lock("printer"),
      /cannot select database 9: ERR DB index is out of range/,
    );
    const redis = new Redis(server.url);
    try {
      assert.deepEqual(await allKeys(redis), []);
    } finally {
      redis.disconnect();
    }
  },
});

Deno.test({
  name:
    "a user missing a command a waiter's script needs fails the wait with Redis's refusal, not a timeout",
  async fn() {
    const rules = (await readmeRules()).replace(" +pexpire", "");
    await using acl = await startAclServer(rules);
    // Drawing needs no PEXPIRE; a waiter's poll does.
    await using holder = new Locker({ url: acl.url });
    await using waiter = new Locker({ url: acl.url });
    await using held = await holder.lock("printer");
    const started = Date.now();
    await assert.rejects(
      waiter.lock("printer", { timeout: 20_000 }),
      (error: Error) =>
        !(error instanceof TimeoutError) &&
        /^NOPERM |can't run this command/.test(error.message),
    );
    assert.ok(Date.now() - started < 10_000, "failed only at the timeout");
    await held.release();
  },
});
