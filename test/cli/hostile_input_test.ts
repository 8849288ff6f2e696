/**
 * Hostile resource names and labels through every CLI command: valid ones
 * are data, invalid ones a one-line usage error; a bystander is untouched.
 *
 * @module
 */

import assert from "node:assert/strict";
import { lockOrder } from "../../src/lock_set.ts";
import { resourceKeys } from "../../src/redis/keys.ts";
import { formatResources } from "../../src/cli/view/status_table.ts";
import { allKeys, redisTest, waitFor } from "../support/helpers.ts";
import { runCli, spawnCli } from "../support/cli.ts";
import { bystander, VALID_NAMES } from "../support/hostile_input.ts";
import { turn1Lock } from "../../support/turn1_client.ts";
import type { ResourceStatus } from "../../mod.ts";

const NAMES = VALID_NAMES.map(([, name]) => name);
// `run` takes its command after `--`, so its names cannot start with "-".
const RUN_NAMES = NAMES.filter((name) => !name.startsWith("-"));

redisTest(
  "hostile but valid names work through every CLI command and touch no other resource",
  async (t) => {
    const others = await bystander(t.redis, t.locker(), t.locker());
    const url = t.server.url;
    await using follow = spawnCli(["follow", "--url", url, "--", ...NAMES]);
    // Channel names with "*" in them are still plain channels: count each.
    const channels = NAMES.map((name) => resourceKeys(name).external);
    await waitFor(async () => {
      const counts = await t.redis.pubsub("NUMSUB", ...channels) as unknown[];
      return counts.filter((_, i) => i % 2 === 1).every((n) => Number(n) > 0);
    }, "follow subscribed to every channel");
    await using holder = spawnCli([
      ...["lock", "--label", "cli holder", "--url", url, "--"],
      ...NAMES,
    ]);
    await holder.stdoutHas(`${lockOrder(NAMES).at(-1)}: locked\n`);

    const status = await runCli(["status", "--url", url, "--", ...NAMES]);
    const statuses = await t.locker().status(NAMES);
    assert.deepEqual(statuses.map((s) => s.resource), NAMES);
    assert.deepEqual(status, {
      code: 0,
      stdout: formatResources(
        statuses.map((status) => status.resource),
        statuses,
      ).map((line) => `${line}\n`).join(""),
      stderr: "",
    });
    const json = await runCli([
      "status",
      "--json",
      "--url",
      url,
      "--",
      ...NAMES,
    ]);
    assert.deepEqual(
      JSON.parse(json.stdout).map((s: { resource: string }) => s.resource),
      NAMES,
    );
    const sizes = await runCli(["status", "--url", url]);
    const rows = sizes.stdout.split("\n").slice(2, -1);
    assert.equal(rows.length, NAMES.length + 1, sizes.stdout);
    for (const name of NAMES) {
      assert.ok(
        rows.includes(
          `${name}${" ".repeat(Math.max(0, 50 - [...name].length))}         1`,
        ),
        name,
      );
    }

    await using run = spawnCli([
      "run",
      "--url",
      url,
      ...RUN_NAMES,
      "--",
      "true",
    ]);
    await run.stderrHas("waiting, 1 ahead");
    holder.kill("SIGINT");
    assert.equal((await holder.result()).code, 0);
    assert.deepEqual(await run.result(), {
      code: 0,
      stdout: "",
      stderr: `${lockOrder(RUN_NAMES)[0]}: waiting, 1 ahead\n`,
    });
    for (const name of NAMES) {
      await follow.stdoutHas(`${name}: 1 completed by "cli holder"\n`);
    }
    // `run` waited on the first; the others were idle (no keys) by then.
    for (const name of RUN_NAMES) {
      const number = name === lockOrder(RUN_NAMES)[0] ? 2 : 1;
      await follow.stdoutHas(`${name}: ${number} completed by "true"\n`);
    }
    follow.kill("SIGTERM");
    assert.equal((await follow.result()).code, 0);

    const reset = await runCli(["reset", "--url", url, "--", ...NAMES]);
    assert.deepEqual(reset, {
      code: 0,
      stdout: NAMES.map((name) => `No such queue: "${name}".\n`).join(""),
      stderr: "",
    });
    assert.deepEqual(await allKeys(t.redis), [...others.keys].sort());
    await others.check();
  },
);

redisTest(
  "invalid names and labels are a one-line usage error from every CLI command, changing nothing",
  async (t) => {
    const others = await bystander(t.redis, t.locker(), t.locker());
    const url = t.server.url;
    const long = "x".repeat(100_000);
    const cases: [string[], string][] = [
      [["status", "--", ""], 'resource must not be empty: got ""'],
      [
        ["status", "--json", "--", long],
        "resource must be at most 1024 characters: got 100000",
      ],
      [
        ["follow", "a", "a\nb"],
        'resource must not contain control characters: got "a\\nb"',
      ],
      [
        ["reset", "\x1b[31m"],
        'resource must not contain control characters: got "\\u001b[31m"',
      ],
      [
        ["lock", "a", "x".repeat(1025)],
        "resource must be at most 1024 characters: got 1025",
      ],
      [
        ["run", "a", "a\rb", "--", "true"],
        'resource must not contain control characters: got "a\\rb"',
      ],
      [
        ["lock", "--label", "a\nb", "a"],
        'label must not contain control characters: got "a\\nb"',
      ],
      [
        ["run", "--label", long, "a", "--", "true"],
        "label must be at most 1024 characters: got 100000",
      ],
    ];
    const results = await Promise.all(
      cases.map(([args]) => runCli([...args, "--url", url])),
    );
    results.forEach((result, index) => {
      assert.deepEqual(result, {
        code: 2,
        stdout: "",
        stderr: `turn: ${cases[index][1]}\n`,
      });
    });
    assert.deepEqual(await allKeys(t.redis), [...others.keys].sort());
    await others.check();
  },
);

// Terminal controls: colours, clear screen, a window title, a carriage return
// that would overwrite the line. Every control but the newline.
// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

redisTest(
  "names and labels that others wrote with control characters are printed escaped, never raw",
  async (t) => {
    const url = t.server.url;
    const name = "\x1b[31mred";
    const label = "\x1b]0;pwned\x07\x1b[2J\rfake\u009b";
    await using follow = spawnCli(["follow", "--url", url]);
    await using watch = spawnCli(["status", "--watch", "--url", url]);
    await watch.stdoutHas("no queues");
    await waitFor(
      async () =>
        (await t.redis.client("LIST") as string).match(/ psub=1 /g)?.length ===
          2,
      "follow and watch subscribed",
    );
    // A turn 1.0 client checks nothing: it draws with whatever it was given.
    const user = await turn1Lock(t.server.port, name, label);
    await user.started;
    const shownName = "\\u001b[31mred";
    const shownLabel = "\\u001b]0;pwned\\u0007\\u001b[2J\\u000dfake\\u009b";
    await follow.stdoutHas(`${shownName}: 1 assigned to "${shownLabel}"\n`);
    await watch.stdoutHas(shownLabel);
    const sizes = await runCli(["status", "--url", url]);
    const row = sizes.stdout.split("\n")[2];
    assert.deepEqual(row.split(/ +/), [shownName, "1"], sizes.stdout);
    const json = await runCli(["status", "--json", "--url", url]);
    assert.deepEqual(
      JSON.parse(json.stdout).map((s: ResourceStatus) => [
        s.resource,
        s.users[0].label,
      ]),
      [[name, label]],
    );
    await user.complete();
    user.close();
    await follow.stdoutHas(`${shownName}: 2 granted\n`);
    follow.kill("SIGINT");
    watch.kill("SIGINT");
    for (const output of [sizes, json, await follow.result()]) {
      assert.doesNotMatch(output.stdout, RAW_CONTROL);
    }
    const frames = (await watch.result()).stdout;
    assert.ok(frames.includes(`${shownName}\n`), frames);
    assert.doesNotMatch(frames, RAW_CONTROL);
  },
);
