/**
 * SIGHUP (an SSH session dropping) ends `lock`, `follow` and
 * `status --watch` as cleanly as Ctrl-C; and a Redis that goes away while
 * `lock` or `run` holds ends them with 70 and a one-line reason.
 */

import { deepStrictEqual, match } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { resourceKeys } from "../../src/redis/keys.ts";
import { BACKENDS, within } from "../support/helpers.ts";
import {
  cliDomain,
  type CliProcess,
  spawnCli,
  subscribed,
} from "../support/cli.ts";
import { startRedis } from "../../support/redis_server.ts";

function ended(cli: CliProcess): ReturnType<CliProcess["result"]> {
  return within(cli.result(), 30_000, "the CLI's exit");
}

for (const backend of BACKENDS) {
  Deno.test(`turn lock (${backend}): SIGHUP releases at once, like Ctrl-C`, async () => {
    await using where = await cliDomain(backend);
    await using locker = new Locker({ url: where.url });
    await using lock = where.spawn(["lock", "printer"]);
    await lock.stdoutHas("printer: locked\n");
    lock.kill("SIGHUP");
    deepStrictEqual(await ended(lock), {
      code: 0,
      stderr: "",
      stdout: "printer: acquiring\nprinter: locked\nprinter: released\n",
    });
    // The next user need not wait for a presence to lapse.
    await using next = await locker.tryLock("printer");
    deepStrictEqual(next === null, false);
  });
}

Deno.test("turn follow and turn status --watch end on SIGHUP with 0", async () => {
  await using server = await startRedis();
  await using follow = spawnCli(["follow", "--url", server.url, "printer"]);
  await using watch = spawnCli(["status", "--watch", "--url", server.url]);
  await subscribed(server.url, resourceKeys("printer").external);
  await watch.stdoutHas("no queues\n");
  follow.kill("SIGHUP");
  watch.kill("SIGHUP");
  deepStrictEqual((await ended(follow)).code, 0);
  deepStrictEqual((await ended(watch)).code, 0);
});

for (const command of ["lock", "run"] as const) {
  Deno.test(`turn ${command}: Redis going away while it holds ends it with 70 and one line`, async () => {
    const server = await startRedis();
    const tail = command === "lock" ? [] : [
      "--",
      "sh",
      "-c",
      "echo started; while :; do sleep 0.05; done 2>&-",
    ];
    await using cli = spawnCli([
      command,
      "--expire",
      "2s",
      "--url",
      server.url,
      "printer",
      ...tail,
    ]);
    await cli.stdoutHas(command === "lock" ? "printer: locked\n" : "started\n");
    await server.stop();
    const { code, stderr } = await ended(cli);
    deepStrictEqual(code, 70);
    match(stderr, /^turn: lost the turn on "printer" \(number 1\): [^\n]+\n$/);
  });
}
