/**
 * TLS: the Locker and the CLI over `rediss://`, against a redis-server with a
 * certificate from a CA the test makes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConnectionError, Locker, type LockerOptions } from "../../mod.ts";
import { fixture, within } from "../support/helpers.ts";
import {
  freePort,
  type RedisServer,
  startRedis,
} from "../../support/redis_server.ts";
import { CLI_PERMISSIONS, runCli, spawnCli } from "../support/cli.ts";
import { startCluster } from "../support/redis_cluster.ts";
import { MASTER_NAME, startSentinelGroup } from "../support/redis_sentinel.ts";
import { makeCertificates, tlsArgs } from "../support/tls_files.ts";

const PASSWORD = "tls-test-secret";

interface TlsServer extends AsyncDisposable {
  readonly server: RedisServer;
  /** `rediss://:PASSWORD@127.0.0.1:PORT/0`. */
  readonly url: string;
  /** Path of the CA certificate. */
  readonly ca: string;
}

/** A redis-server that only speaks TLS and wants a password. */
async function startTlsServer(): Promise<TlsServer> {
  const files = await makeCertificates();
  const port = freePort();
  const server = await startRedis({
    port,
    args: [
      "--port",
      "0", // no plain-text port at all
      ...tlsArgs(files, port),
      "--requirepass",
      PASSWORD,
    ],
  });
  return {
    server,
    url: `rediss://:${PASSWORD}@127.0.0.1:${port}/0`,
    ca: files.ca,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await files[Symbol.asyncDispose]();
    },
  };
}

Deno.test({
  name:
    "the Locker takes turns over rediss:// with the CA in the tls option, and refuses an unknown CA",
  async fn() {
    await using tls = await startTlsServer();
    const tlsOptions = { ca: await Deno.readTextFile(tls.ca) };
    await using a = new Locker({ url: tls.url, tls: tlsOptions });
    await using b = new Locker({ url: tls.url, tls: tlsOptions });
    const follow = a.follow(["printer"]);
    await follow.ready;
    const held = await a.lock("printer", { label: "over tls" });
    const waiting = b.lock("printer");
    assert.deepEqual(
      (await a.status(["printer"]))[0].users.map((u) => u.label),
      ["over tls"],
    );
    await held.release();
    await (await within(waiting, 10_000, "the waiter's turn")).release();
    const first = await within(follow.next(), 5_000, "an event");
    assert.equal(first.value?.message, 'printer: 1 assigned to "over tls"');
    await follow.return();
    assert.deepEqual(await a.status(), []);

    // The certificate is really checked: without the CA, no connection.
    await using stranger = new Locker({ url: tls.url, connectTimeout: 5_000 });
    await assert.rejects(
      stranger.status(),
      (error: Error) =>
        error instanceof ConnectionError &&
        /certificate/.test(error.message) &&
        !error.message.includes(PASSWORD),
    );
    // And the port speaks nothing but TLS.
    const plain = tls.url.replace("rediss://", "redis://");
    await using cleartext = new Locker({ url: plain, connectTimeout: 1_000 });
    await assert.rejects(cleartext.status(), ConnectionError);
  },
});

Deno.test({
  name: "the CLI takes turns over rediss:// with the CA given in DENO_CERT",
  async fn() {
    await using tls = await startTlsServer();
    const env = { DENO_CERT: tls.ca, TURN_REDIS_URL: tls.url };
    await using holder = spawnCli(["lock", "printer"], { env });
    await holder.stdoutHas("printer: locked\n");
    const status = await runCli(["status", "--json", "printer"], { env });
    assert.equal(status.stderr, "");
    assert.equal(JSON.parse(status.stdout)[0].users[0].label, "lock tool");
    const run = spawnCli(["run", "--url", tls.url, "printer", "--", "true"], {
      env: { DENO_CERT: tls.ca },
    });
    await run.stderrHas("printer: waiting, 1 ahead");
    holder.kill("SIGINT");
    assert.equal((await holder.result()).code, 0);
    assert.equal((await run.result()).code, 0);

    const untrusted = await runCli(["status", "--url", tls.url]);
    assert.equal(untrusted.code, 69);
    assert.match(
      untrusted.stderr,
      /^turn: cannot connect .*certificate.* \(for a private CA, pass --tls-ca \/path\/to\/ca\.pem or set DENO_CERT=\/path\/to\/ca\.pem\)\n$/,
    );
    assert.ok(!untrusted.stderr.includes(PASSWORD), untrusted.stderr);
  },
});

/** The CLI's permissions, plus reading `file` (for `--tls-ca`). */
function reading(file: string): string[] {
  return [...CLI_PERMISSIONS, `--allow-read=${file}`];
}

/**
 * With `flags` naming TLS servers, `turn run` takes a turn (with the CA
 * from --tls-ca, and with --tls and DENO_CERT), and without the CA the
 * certificate problem is named.
 */
async function cliOverTls(
  flags: readonly string[],
  ca: string,
  env: Record<string, string> = {},
): Promise<void> {
  const run = (more: string[], options = {}) =>
    runCli(["run", ...flags, ...more, "printer", "--", "true"], {
      env,
      ...options,
    });
  assert.deepEqual(await run(["--tls-ca", ca], { permissions: reading(ca) }), {
    code: 0,
    stdout: "",
    stderr: "",
  });
  const viaDeno = await run(["--tls"], { env: { ...env, DENO_CERT: ca } });
  assert.deepEqual([viaDeno.code, viaDeno.stderr], [0, ""]);
  const untrusted = await run(["--tls"]);
  assert.equal(untrusted.code, 69, untrusted.stderr);
  assert.match(untrusted.stderr, /^turn: cannot connect .*certificate/);
  // Without read permission, --tls-ca says what to do instead.
  const unreadable = await run(["--tls-ca", ca]);
  assert.equal(unreadable.code, 2);
  assert.match(
    unreadable.stderr,
    /^turn: --tls-ca must name a readable PEM file: got ".*ca\.crt" \(no permission to read it: .*--allow-read=.*DENO_CERT=/,
  );
}

/** Two Lockers made with `options` take turns, the second waiting. */
async function turnsOver(options: LockerOptions): Promise<void> {
  await using a = new Locker(options);
  await using b = new Locker(options);
  const held = await a.lock("printer", { label: "over tls" });
  const waiting = b.lock("printer");
  await held.release();
  await (await within(waiting, 10_000, "the waiter's turn")).release();
  assert.deepEqual(await a.status(["printer"]), []);
}

Deno.test(
  "the CLI reaches a TLS port with --host/--port and --tls or --tls-ca",
  async () => {
    await using tls = await startTlsServer();
    await cliOverTls(
      ["--host", "127.0.0.1", "--port", String(tls.server.port)],
      tls.ca,
      { TURN_REDIS_PASSWORD: PASSWORD },
    );
  },
);

Deno.test(
  "a Redis Cluster over TLS: the Locker and the CLI (--cluster --tls-ca) take turns, and a CA it does not trust is named as the cause",
  async () => {
    await using files = await makeCertificates();
    await using stranger = await makeCertificates();
    await using cluster = await startCluster(3, [], files);
    const nodes = cluster.tlsPorts.map((port) => ({
      host: "127.0.0.1",
      port: port!,
    }));
    await turnsOver({
      cluster: nodes,
      tls: { ca: await Deno.readTextFile(files.ca) },
    });
    // A single server names the certificate problem; so does a Cluster,
    // not just "Connection is closed".
    await using untrusting = new Locker({
      cluster: nodes,
      tls: { ca: await Deno.readTextFile(stranger.ca) },
    });
    await assert.rejects(
      untrusting.lock("printer"),
      (error: Error) =>
        error instanceof ConnectionError &&
        /: unable to verify the first certificate$/.test(error.message),
    );
    await cliOverTls(
      ["--cluster", nodes.map((n) => `127.0.0.1:${n.port}`).join(",")],
      files.ca,
    );
  },
);

Deno.test(
  "Sentinel over TLS: the Locker and the CLI (--sentinels --tls-ca) find the master and take turns",
  async () => {
    await using files = await makeCertificates();
    await using group = await startSentinelGroup([], files);
    await turnsOver({
      sentinels: group.tlsAddresses,
      name: MASTER_NAME,
      tls: { ca: await Deno.readTextFile(files.ca) },
    });
    await cliOverTls(
      [
        "--sentinels",
        group.tlsAddresses.map((a) => `127.0.0.1:${a.port}`).join(","),
        "--master",
        MASTER_NAME,
      ],
      files.ca,
    );
  },
);

/** Tries a server that requires a client certificate without one. */
const TRIES = 8;

/**
 * Runs the fixture with `options` in a process of its own and returns each
 * try's line; asserts the process survived every try.
 */
async function triesWithoutCertificate(
  options: LockerOptions,
): Promise<string[]> {
  const { code, stdout, stderr } = await within(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        fixture("no_client_certificate.ts"),
        JSON.stringify(options),
        String(TRIES),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output(),
    120_000,
    "the tries without a client certificate",
  );
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  const errors = new TextDecoder().decode(stderr);
  assert.equal(lines.at(-1), "survived", errors);
  assert.equal(code, 0, errors);
  assert.ok(!errors.includes("EPIPE"), errors);
  return lines.slice(0, -1);
}

Deno.test(
  "a server that requires a client certificate, reached without one, is a ConnectionError, and the process survives (one server, Cluster)",
  async () => {
    await using files = await makeCertificates();
    const ca = await Deno.readTextFile(files.ca);
    const port = freePort();
    await using server = await startRedis({
      port,
      args: ["--port", "0", ...tlsArgs(files, port, true)],
    });
    const url = `rediss://127.0.0.1:${server.port}/0`;
    const single = await triesWithoutCertificate({ url, tls: { ca } });
    assert.equal(single.length, TRIES);
    // The server's alert, or a write that raced it.
    for (const line of single) {
      assert.match(line, /^refused: .*(CertificateRequired|write EPIPE)$/);
    }
    // With a certificate of its own, the same server takes turns.
    const withCertificate = {
      ca,
      cert: await Deno.readTextFile(files.cert),
      key: await Deno.readTextFile(files.key),
    };
    await turnsOver({ url, tls: withCertificate });

    await using cluster = await startCluster(3, [], files, true);
    const nodes = cluster.tlsPorts.map((p) => ({
      host: "127.0.0.1",
      port: p!,
    }));
    const clustered = await triesWithoutCertificate({
      cluster: nodes,
      tls: { ca },
    });
    assert.equal(clustered.length, TRIES);
    for (const line of clustered) {
      assert.match(line, /^refused: .*(CertificateRequired|write EPIPE)$/);
    }
    await turnsOver({ cluster: nodes, tls: withCertificate });
  },
);
