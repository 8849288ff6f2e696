/**
 * TLS: the Locker and the CLI over `rediss://`, against a redis-server with a
 * certificate from a CA the test makes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConnectionError, Locker } from "../mod.ts";
import { within } from "./_helpers.ts";
import {
  freePort,
  type RedisServer,
  startRedis,
} from "../support/redis_server.ts";
import { runCli, spawnCli } from "./cli_helpers.ts";

const PASSWORD = "tls-test-secret";

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
  }
}

/** A CA and a server certificate for 127.0.0.1 signed by it, in `dir`. */
async function makeCertificates(dir: string): Promise<void> {
  const key = ["-newkey", "rsa:2048", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...key,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=turn test CA",
  );
  await openssl(
    dir,
    "req",
    ...key,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  );
  await Deno.writeTextFile(`${dir}/san.cnf`, "subjectAltName=IP:127.0.0.1\n");
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "1",
    "-extfile",
    "san.cnf",
  );
}

interface TlsServer extends AsyncDisposable {
  readonly server: RedisServer;
  /** `rediss://:PASSWORD@127.0.0.1:PORT/0`. */
  readonly url: string;
  /** Path of the CA certificate. */
  readonly ca: string;
}

/** A redis-server that only speaks TLS and wants a password. */
async function startTlsServer(): Promise<TlsServer> {
  const dir = await Deno.makeTempDir({ prefix: "turn-tls-" });
  await makeCertificates(dir);
  const port = freePort();
  const server = await startRedis({
    port,
    args: [
      "--port",
      "0", // no plain-text port at all
      "--tls-port",
      String(port),
      "--tls-cert-file",
      `${dir}/server.crt`,
      "--tls-key-file",
      `${dir}/server.key`,
      "--tls-ca-cert-file",
      `${dir}/ca.crt`,
      "--tls-auth-clients",
      "no",
      "--requirepass",
      PASSWORD,
    ],
  });
  return {
    server,
    url: `rediss://:${PASSWORD}@127.0.0.1:${port}/0`,
    ca: `${dir}/ca.crt`,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
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
      /^turn: cannot connect .*certificate.* \(for a private CA, set DENO_CERT=\/path\/to\/ca\.pem\)\n$/,
    );
    assert.ok(!untrusted.stderr.includes(PASSWORD), untrusted.stderr);
  },
});
