/**
 * Passwords never appear in errors (message, cause or any field a logger
 * prints), in CLI error lines, or in what status and follow show.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { ConnectionError, Locker } from "../../mod.ts";
import { parseRedisUrl } from "../../src/redis/url.ts";
import { waitFor } from "../support/helpers.ts";
import { freePort, startRedis } from "../../support/redis_server.ts";
import { runCli, spawnCli, subscribed } from "../support/cli.ts";
import { EXTERNAL_PATTERN } from "../../src/redis/keys.ts";

const SECRET = "hunter2-s3cr3t";
const ROTATED = "rotated-0ther";

/** Fails if any form of a password shows in `text`. */
function assertHidden(text: string, context: string): void {
  for (const secret of [SECRET, ROTATED, "s3cr3t", "0ther"]) {
    assert.ok(!text.includes(secret), `${context} shows a password: ${text}`);
  }
}

/** Everything a logger could print about an error, cause included. */
function everything(error: unknown): string {
  return Deno.inspect(error, { depth: Infinity, showHidden: true }) +
    JSON.stringify(error);
}

async function failure(work: () => Promise<unknown>): Promise<Error> {
  try {
    await work();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

Deno.test({
  name:
    "wrong passwords, unreachable hosts and bad URLs give errors with no password in any field",
  async fn() {
    await using server = await startRedis({ args: ["--requirepass", "right"] });
    const closed = freePort();
    // A second call waits for ioredis's reconnection: keep that short.
    const connectTimeout = 1_000;
    const cases: [string, () => Locker][] = [
      [
        "wrong password in the URL",
        () =>
          new Locker({
            url: `redis://:${SECRET}@127.0.0.1:${server.port}/0`,
            connectTimeout,
          }),
      ],
      [
        "wrong password option",
        () =>
          new Locker({
            port: server.port,
            host: "127.0.0.1",
            password: SECRET,
            connectTimeout,
          }),
      ],
      ["wrong user and password", () =>
        new Locker({
          url: `redis://nobody:${SECRET}@127.0.0.1:${server.port}/0`,
          connectTimeout,
        })],
      [
        "password to a closed port",
        () =>
          new Locker({
            url: `redis://u:${SECRET}@127.0.0.1:${closed}/0`,
            connectTimeout,
          }),
      ],
      ["password over TLS to a plain port", () =>
        new Locker({
          url: `rediss://:${SECRET}@127.0.0.1:${server.port}/0`,
          connectTimeout,
        })],
    ];
    for (const [what, make] of cases) {
      await using locker = make();
      for (const call of [() => locker.status(), () => locker.lock("r")]) {
        const error = await failure(call);
        assert.ok(error instanceof ConnectionError, `${what}: ${error}`);
        assertHidden(everything(error), what);
      }
    }
    for (
      const url of [
        `redis://:${SECRET}@h:99999/0`,
        `redis://u:${SECRET}@h/x`,
        `redis://:${SECRET}@x@h:99999`, // a raw "@" in the password
        `redis://u:${SECRET}/x@h:1/zz`, // a raw "/" in the password
        `http://u:${SECRET}@h`,
      ]
    ) {
      const error = await failure(() => Promise.resolve(parseRedisUrl(url)));
      assert.ok(error instanceof TypeError || error instanceof RangeError);
      assertHidden(everything(error), url);
      assert.throws(() => new Locker({ url }), (e: Error) => {
        assertHidden(everything(e), url);
        return true;
      });
    }
  },
});

Deno.test({
  name:
    "a password rotated while connected: failures carry no password, old or new",
  async fn() {
    await using server = await startRedis({ args: ["--requirepass", SECRET] });
    const admin = new Redis({ port: server.port, password: SECRET });
    await using locker = new Locker({
      url: `redis://:${SECRET}@127.0.0.1:${server.port}/0`,
    });
    try {
      const held = await locker.lock("printer", { expire: 500 });
      await admin.config("SET", "requirepass", ROTATED);
      await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      await waitFor(
        () => Promise.resolve(held.signal.aborted),
        "the lease is lost",
      );
      assertHidden(everything(held.signal.reason), "the lease error");
      for (const call of [() => locker.status(), () => locker.lock("other")]) {
        const error = await failure(call);
        assert.match(error.message, /WRONGPASS/);
        assertHidden(everything(error), "a call after the rotation");
      }
    } finally {
      admin.disconnect();
    }
  },
});

Deno.test({
  name:
    "CLI error lines, status --json and follow output never show the password",
  async fn() {
    await using server = await startRedis({ args: ["--requirepass", SECRET] });
    const good = `redis://:${SECRET}@127.0.0.1:${server.port}/0`;
    const wrong = `redis://:${ROTATED}@127.0.0.1:${server.port}/0`;
    const port = String(server.port);
    const failures: [string[], Record<string, string>, number][] = [
      [["status", "--url", wrong], {}, 69],
      [["status"], { TURN_REDIS_URL: wrong }, 69],
      [["lock", "--port", port, "--password", ROTATED, "r"], {}, 69],
      [["status", "--port", port], { TURN_REDIS_PASSWORD: ROTATED }, 69],
      [["run", "--url", wrong, "r", "--", "true"], {}, 69],
      [
        ["follow", "--url", `redis://:${SECRET}@127.0.0.1:${freePort()}`],
        {},
        69,
      ],
      [["status", "--url", `redis://:${SECRET}@x@h:99999`], {}, 2],
      [["reset", "--url", `redis://u:${SECRET}@h/zz`], {}, 2],
    ];
    const results = await Promise.all(
      failures.map(([args, env]) => runCli(args, { env })),
    );
    results.forEach((result, index) => {
      const [args, , code] = failures[index];
      const context = args.join(" ");
      assert.equal(result.code, code, `${context}: ${result.stderr}`);
      assert.match(result.stderr, /^turn: [^\n]+\n$/, context);
      assertHidden(result.stdout + result.stderr, context);
    });

    // The connection flags take the password from the environment.
    const fromEnvironment = await runCli(["status", "--port", port], {
      env: { TURN_REDIS_PASSWORD: SECRET },
    });
    assert.deepEqual([fromEnvironment.code, fromEnvironment.stderr], [0, ""]);

    // Connected with the password: nothing it shows repeats it.
    await using follow = spawnCli(["follow", "--json", "--url", good]);
    await subscribed(good, EXTERNAL_PATTERN);
    await using holder = spawnCli(["lock", "--url", good, "printer"]);
    await holder.stdoutHas("printer: locked\n");
    const status = await runCli(["status", "--json"], {
      env: { TURN_REDIS_URL: good },
    });
    const run = await runCli(["run", "--url", good, "scanner", "--", "true"]);
    assert.equal(run.code, 0);
    holder.kill("SIGINT");
    await follow.stdoutHas('"kind":"granted"');
    follow.kill("SIGINT");
    for (
      const [what, output] of [
        ["status --json", status],
        ["lock", await holder.result()],
        ["run", run],
        ["follow", await follow.result()],
      ] as const
    ) {
      assertHidden(output.stdout + output.stderr, what);
    }
    assert.equal(JSON.parse(status.stdout)[0].resource, "printer");
  },
});
