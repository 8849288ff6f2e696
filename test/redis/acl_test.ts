/**
 * Least privilege: on one server, behind Sentinel and on a Cluster, every API
 * call works as a Redis ACL user made from exactly the rule docs/SECURITY.md
 * gives for that deployment (every CLI command too, on one server), and the
 * rule names no command turn does not send. A missing permission fails with
 * an error that names the refused command.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import {
  ConnectionError,
  Locker,
  type LockerOptions,
  TimeoutError,
  TurnError,
} from "../../mod.ts";
import { EXTERNAL_PATTERN } from "../../src/redis/keys.ts";
import { allKeys, untilQueued, within } from "../support/helpers.ts";
import { type RedisServer, startRedis } from "../../support/redis_server.ts";
import { runCli, spawnCli, subscribed } from "../support/cli.ts";
import { startCluster } from "../support/redis_cluster.ts";
import { MASTER_NAME, startSentinelGroup } from "../support/redis_sentinel.ts";
import { quit } from "../../src/redis/client.ts";

const PASSWORD = "acl-test-secret";
const DB = 1;

/** The deployments docs/SECURITY.md gives a line for, by their heading. */
type Deployment = "One Redis server" | "Redis Sentinel" | "Redis Cluster";

/**
 * The rules after `ACL SETUSER turn` in docs/SECURITY.md's least-privilege
 * line for `deployment`.
 */
async function docRules(deployment: Deployment): Promise<string> {
  const doc = await Deno.readTextFile(
    new URL("../../docs/SECURITY.md", import.meta.url),
  );
  const section = doc.split(/^### /m).find((s) => s.startsWith(deployment));
  const line = /^ACL SETUSER turn (.*)$/m.exec(section ?? "");
  assert.ok(line, `docs/SECURITY.md has no line under "### ${deployment}"`);
  return line[1].replace(">PASSWORD", `>${PASSWORD}`);
}

/** An ACL file of `users` lines in a new temp dir; removed on dispose. */
async function aclFile(
  users: readonly string[],
): Promise<AsyncDisposable & { readonly path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "turn-acl-" });
  const path = `${dir}/users.acl`;
  await Deno.writeTextFile(path, users.join("\n") + "\n");
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
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
  const users = await aclFile([
    "user default off",
    `user turn ${rules}`,
    `user admin on >${PASSWORD} ~* &* +@all`,
  ]);
  const server = await startRedis({ args: ["--aclfile", users.path] });
  const base = `127.0.0.1:${server.port}/${DB}`;
  const adminUrl = `redis://admin:${PASSWORD}@${base}`;
  const admin = new Redis(adminUrl);
  return {
    server,
    url: `redis://turn:${PASSWORD}@${base}`,
    admin,
    adminUrl,
    async [Symbol.asyncDispose]() {
      await quit(admin);
      await server.stop();
      await users[Symbol.asyncDispose]();
    },
  };
}

/** Commands the servers ran (from their command statistics), by name. */
async function commandsRun(admins: readonly Redis[]): Promise<Set<string>> {
  const run = new Set<string>();
  for (const admin of admins) {
    const info = await admin.info("commandstats");
    for (
      const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)
    ) {
      if (Number(calls) > 0) run.add(name);
    }
  }
  return run;
}

/** The commands of `rules` the servers never ran, and those they refused. */
async function unneededAndRefused(
  rules: string,
  admins: readonly Redis[],
  inspection: readonly string[],
): Promise<{ unneeded: string[]; refused: string[] }> {
  const run = await commandsRun(admins);
  const refused: string[] = [];
  for (const admin of admins) {
    for (const entry of await admin.acl("LOG") as unknown[][]) {
      refused.push(String(entry[entry.indexOf("object") + 1]));
    }
  }
  for (const own of inspection) run.delete(own);
  return {
    unneeded: commandsOf(rules).filter((name) => !run.has(name)),
    refused: [...new Set(refused)].sort(),
  };
}

/** Mutual exclusion witness: INCR inside, must never exceed 1. */
async function critical(witness: Redis, max: { value: number }) {
  const inside = await witness.incr("turn:acl-test:inside");
  max.value = Math.max(max.value, inside);
  await new Promise((r) => setTimeout(r, 5));
  await witness.decr("turn:acl-test:inside");
}

/**
 * Every API call, by three Lockers made with `options`; `leftovers` lists
 * the keys of the deployment afterwards. The witness lives on a server of
 * its own.
 */
async function apiRound(
  options: LockerOptions,
  leftovers: () => Promise<string[]>,
): Promise<void> {
  await using a = new Locker(options);
  await using b = new Locker(options);
  await using c = new Locker(options);
  await using witnessServer = await startRedis();
  const witness = new Redis(witnessServer.url);
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
    // Shared turns: their own scripts, under the same rules.
    const most = { value: 0 };
    await Promise.all(
      [a, b, c, a, b, c].map((locker) =>
        locker.withLock("gpu", () => critical(witness, most), {
          capacity: 2,
          expire: 1000,
        })
      ),
    );
    assert.ok(most.value >= 1 && most.value <= 2, `${most.value} inside`);
    await using reader = await a.lock("gpu", { shared: true });
    const writer = b.lock("gpu", { shared: false });
    await untilQueued(a, "gpu", 2);
    assert.deepEqual((await a.status(["gpu"]))[0].places, {
      capacity: null,
      holders: 1,
      placesLeft: null,
    });
    await reader.release();
    await (await within(writer, 10_000, "the writer's turn")).release();
    assert.deepEqual(await a.reset(), []);
  } finally {
    await quit(witness);
  }
  assert.deepEqual(await leftovers(), []);
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
    const rules = await docRules("One Redis server");
    await using acl = await startAclServer(rules);
    await apiRound({ url: acl.url }, () => allKeys(acl.admin));
    await cliRound(acl.url, acl.adminUrl);
    await cliAsUser([
      "--host",
      "127.0.0.1",
      "--port",
      String(acl.server.port),
      "--db",
      String(DB),
    ]);
    // Nothing was refused: no command, key or channel outside the rule; and
    // every command the rule allows was needed. The admin's own inspection
    // (keys, pubsub, acl) and HELLO (always allowed) are not in it.
    assert.deepEqual(
      await unneededAndRefused(rules, [acl.admin], [
        "hello",
        "keys",
        "pubsub|numpat",
        "acl|log",
      ]),
      { unneeded: [], refused: [] },
    );
  },
});

/**
 * The CLI as user `turn` with `flags` (--username, the password from
 * TURN_REDIS_PASSWORD): one holds, another waits in `run`, status shows
 * the holder.
 */
async function cliAsUser(flags: readonly string[]): Promise<void> {
  const connection = [...flags, "--username", "turn"];
  const env = { TURN_REDIS_PASSWORD: PASSWORD };
  await using holder = spawnCli(["lock", ...connection, "printer"], { env });
  await holder.stdoutHas("printer: locked\n");
  const status = await runCli(["status", "--json", ...connection, "printer"], {
    env,
  });
  assert.equal(status.stderr, "");
  assert.equal(JSON.parse(status.stdout)[0].users[0].label, "lock tool");
  const run = spawnCli(["run", ...connection, "printer", "--", "true"], {
    env,
  });
  await run.stderrHas("printer: waiting, 1 ahead");
  holder.kill("SIGINT");
  assert.equal((await holder.result()).code, 0);
  assert.deepEqual(await run.result(), {
    code: 0,
    stdout: "",
    stderr: "printer: waiting, 1 ahead\n",
  });
}

const ADMIN = "user default on nopass ~* &* +@all";

Deno.test(
  "behind Sentinel, every API call and the CLI (--username) work as the Sentinel ACL user, and nothing is refused",
  async () => {
    const rules = await docRules("Redis Sentinel");
    await using users = await aclFile([ADMIN, `user turn ${rules}`]);
    await using group = await startSentinelGroup(["--aclfile", users.path]);
    const master = new Redis(await group.masterPort(), "127.0.0.1", { db: DB });
    try {
      await apiRound({
        sentinels: group.addresses,
        name: MASTER_NAME,
        username: "turn",
        password: PASSWORD,
        db: DB,
      }, () => allKeys(master));
      await cliAsUser([
        "--sentinels",
        group.addresses.map((a) => `127.0.0.1:${a.port}`).join(","),
        "--master",
        MASTER_NAME,
        "--db",
        String(DB),
      ]);
      // The sentinels and the replica use the master too, so its statistics
      // cannot say which commands turn needed; the rule is the one-server
      // rule, whose every command is needed (above).
      assert.equal(rules, await docRules("One Redis server"));
      const { refused } = await unneededAndRefused(rules, [master], []);
      assert.deepEqual(refused, []);
    } finally {
      await quit(master);
    }
  },
);

Deno.test(
  "on a Redis Cluster, every API call and the CLI (--username) work as the Cluster ACL user, which names only commands turn sends",
  async () => {
    const rules = await docRules("Redis Cluster");
    await using users = await aclFile([ADMIN, `user turn ${rules}`]);
    await using cluster = await startCluster(3, ["--aclfile", users.path]);
    const { admins } = cluster;
    await Promise.all(admins.map((admin) => admin.config("RESETSTAT")));
    await apiRound({
      cluster: cluster.servers.map((s) => ({
        host: "127.0.0.1",
        port: s.port,
      })),
      username: "turn",
      password: PASSWORD,
    }, async () => (await Promise.all(admins.map(allKeys))).flat());
    await cliAsUser([
      "--cluster",
      cluster.servers.map((s) => `127.0.0.1:${s.port}`).join(","),
    ]);
    // ioredis names its slot-learning connection and carries on if refused,
    // as docs/SECURITY.md says.
    assert.deepEqual(
      await unneededAndRefused(rules, admins, ["config|resetstat", "keys"]),
      { unneeded: [], refused: ["client|setname"] },
    );
  },
);

Deno.test({
  name:
    "a user who may not SELECT the database gets a ConnectionError, not database 0",
  async fn() {
    const rules = (await docRules("One Redis server")).replace(" +select", "");
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
    const rules = (await docRules("One Redis server")).replace(" +pexpire", "");
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
        /can't run this command.*: the user may not run 'pexpire'$/.test(
          error.message,
        ),
    );
    assert.ok(Date.now() - started < 10_000, "failed only at the timeout");
    await held.release();
  },
});

/**
 * Sets user `turn` on every server to `rules` less `missing`, and returns
 * what a new Locker's first turn is refused with, within 10 s.
 */
async function refusalWithout(
  admins: readonly Redis[],
  rules: string,
  missing: string,
  options: LockerOptions,
): Promise<Error> {
  const words = rules.split(" ").filter((word) => word !== `+${missing}`);
  for (const admin of admins) {
    await admin.call("ACL", "SETUSER", "turn", "reset", ...words);
  }
  await using holder = new Locker(options);
  await using waiter = new Locker(options);
  try {
    const held = await within(holder.lock("printer"), 10_000, "a turn");
    let queued!: () => void;
    const inLine = new Promise<void>((resolve) => queued = resolve);
    const waiting = waiter.lock("printer", { onQueue: () => queued() });
    waiting.catch(() => {}); // awaited below
    await within(Promise.race([inLine, waiting]), 10_000, "a place in line");
    await held.release();
    await (await within(waiting, 10_000, "the waiter's turn")).release();
  } catch (error) {
    return error as Error;
  }
  throw new Error(`nothing was refused without ${missing}`);
}

Deno.test(
  "a missing permission fails with an error that names the refused command",
  async (t) => {
    await t.step("one server", async () => {
      const rules = await docRules("One Redis server");
      await using acl = await startAclServer(rules);
      const options = { url: acl.url };
      for (const missing of ["subscribe", "evalsha", "mget", "publish"]) {
        const error = await refusalWithout(
          [acl.admin],
          rules,
          missing,
          options,
        );
        assert.ok(error instanceof TurnError, String(error));
        assert.match(error.message, new RegExp(`'${missing}'`));
      }
    });
    await t.step("Redis Cluster", async () => {
      const rules = await docRules("Redis Cluster");
      await using users = await aclFile([ADMIN, `user turn ${rules}`]);
      await using cluster = await startCluster(3, ["--aclfile", users.path]);
      const options = {
        cluster: cluster.servers.map((s) => ({
          host: "127.0.0.1",
          port: s.port,
        })),
        username: "turn",
        password: PASSWORD,
        connectTimeout: 8_000,
      };
      for (
        const missing of [
          "cluster|slots",
          "cluster|info",
          "command|info",
          "spublish",
          "ssubscribe",
        ]
      ) {
        const error = await refusalWithout(
          cluster.admins,
          rules,
          missing,
          options,
        );
        assert.ok(error instanceof TurnError, String(error));
        assert.ok(
          error.message.includes(`'${missing}'`),
          `${missing}: ${error.message}`,
        );
      }
    });
  },
);
