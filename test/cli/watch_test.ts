import { deepStrictEqual, ok } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { startRedis } from "../../support/redis_server.ts";
import { spawnCli } from "../support/cli.ts";

const HEADER = "turn status --watch, ";

/**
 * Frames with the clock and the times blanked (keeping `>=`), repeats of
 * the same frame dropped: how many frames a change causes is not fixed.
 */
function frames(stdout: string): string[] {
  const normal = stdout
    .replace(/^turn status --watch, \S+$/gm, "turn status --watch, T")
    .replace(
      / +(>=)?\d+[hms][0-9hms]* {2}/g,
      (_, atLeast) => ` ${atLeast ?? ""}T  `,
    );
  return normal.split(/\n(?=turn status --watch)/)
    .filter((frame, i, all) => frame !== all[i - 1]);
}

Deno.test("turn status --watch on a pipe prints a plain frame per change until Ctrl-C", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const early = await locker.lock("printer", { label: "early" });
  await using watch = spawnCli([
    "status",
    "--watch",
    "--port",
    `${server.port}`,
  ]);
  await watch.stdoutHas("early\n");
  const late = locker.lock("printer", { label: "late" });
  await watch.stdoutHas("late\n");
  await early.release();
  await watch.stdoutHas("  holding      2");
  watch.kill("SIGINT");
  const { code, stdout, stderr } = await watch.result();
  deepStrictEqual({ code, stderr }, { code: 0, stderr: "" });
  ok(!stdout.includes("\x1b"), "no escape codes on a pipe");
  deepStrictEqual(frames(stdout), [
    "turn status --watch, T\n\nprinter\n  holding      1 >=T  early\n",
    "turn status --watch, T\n\nprinter\n  holding      1 >=T  early\n  waiting      2 T  late\n",
    "turn status --watch, T\n\nprinter\n  holding      2 T  late\n",
  ]);
  await (await late).release();
});

Deno.test("turn status --watch NAME shows only that resource, and no queues when idle", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using _other = await locker.lock("other", { label: "x" });
  await using watch = spawnCli([
    "status",
    "--watch",
    "--url",
    server.url,
    "printer",
  ]);
  await watch.stdoutHas("no queues\n");
  const job = await locker.lock("printer", { label: "job" });
  await watch.stdoutHas("job\n");
  await job.release();
  await watch.stdoutHas("job\n\nturn status --watch, ");
  // The first frame said it too: wait for the frame after the job's.
  await watch.stdoutHas("no queues\n", 2);
  watch.kill("SIGTERM");
  const { code, stdout, stderr } = await watch.result();
  deepStrictEqual({ code, stderr }, { code: 0, stderr: "" });
  deepStrictEqual(frames(stdout).at(0), "turn status --watch, T\nno queues\n");
  deepStrictEqual(frames(stdout).at(-1), "turn status --watch, T\nno queues\n");
  ok(
    frames(stdout).includes(
      "turn status --watch, T\n\nprinter\n  holding      1 T  job\n",
    ),
  );
});

for (const noColor of [false, true]) {
  Deno.test(`turn status --watch on a terminal redraws in place, ${noColor ? "without" : "with"} colour, ends on Ctrl-C`, async () => {
    await using server = await startRedis();
    await using locker = new Locker({ url: server.url });
    await using _held = await locker.lock("printer", { label: "early" });
    await using watch = spawnCli([
      "status",
      "--watch",
      "--port",
      `${server.port}`,
    ], {
      terminal: true,
      env: noColor ? { NO_COLOR: "1" } : {},
    });
    await watch.stdoutHas("early");
    await watch.type("\x03");
    const { code, stdout } = await watch.result();
    deepStrictEqual(code, 0);
    ok(
      stdout.includes(`\x1b[H\x1b[2J${HEADER}`),
      "clears the screen for each frame",
    );
    deepStrictEqual(stdout.includes("\x1b[32m"), !noColor);
    deepStrictEqual(stdout.includes("\x1b[1m"), !noColor);
  });
}
