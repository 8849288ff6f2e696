/**
 * `turn status NAME...` blank lines, byte for byte as turn 1.0 prints them
 * for every mix of present and missing resources; and a dead head (a
 * number whose user is gone) shown as what it is in the table, `--json`
 * and `--watch`, on both backends.
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { BACKENDS, waitFor, within } from "../support/helpers.ts";
import { cliDomain, spawnCli } from "../support/cli.ts";

// turn 1.0's rule, written out independently of the CLI's formatter: a
// blank line before every name but the first, present or not; a table for
// each present one.
function turn1Status(names: readonly string[], present: Set<string>): string {
  const table = (name: string) =>
    `${name.padEnd(50)}${"1".padStart(10)}\n${"-".repeat(60)}\n` +
    `${`holds ${name}`.padEnd(50)}${"1".padStart(10)}\n`;
  return names
    .map((name, i) =>
      (i > 0 ? "\n" : "") + (present.has(name) ? table(name) : "")
    )
    .join("");
}

for (const backend of BACKENDS) {
  Deno.test(`turn status a b c (${backend}): blank lines as turn 1.0 prints them, for every mix of present and missing`, async () => {
    await using where = await cliDomain(backend);
    await using locker = new Locker({ url: where.url });
    const names = ["a", "b", "c"];
    for (let mask = 0; mask < 8; mask++) {
      const present = new Set(names.filter((_, i) => mask & (1 << i)));
      const locks = await Promise.all(
        [...present].map((name) =>
          locker.lock(name, { label: `holds ${name}` })
        ),
      );
      for (const asked of [names, ["c", "a"], ["a", "a"]]) {
        deepStrictEqual(await where.run(["status", ...asked]), {
          code: 0,
          stdout: turn1Status(asked, present),
          stderr: "",
        }, `${asked.join(" ")} with ${[...present].join(" ") || "none"}`);
      }
      for (const lock of locks) await lock.release();
    }
  });

  Deno.test(`turn status (${backend}) shows a dead head as gone, in the table, --json and --watch`, async () => {
    await using where = await cliDomain(backend);
    await using locker = new Locker({ url: where.url });
    await using holder = spawnCli(
      ["--url", where.url, "lock", "--expire", "200ms", "printer"],
      { permissions: where.permissions },
    );
    await holder.stdoutHas("printer: locked\n");
    holder.kill("SIGKILL");
    await within(holder.result(), 30_000, "the killed lock");
    await waitFor(
      async () => (await locker.status(["printer"]))[0]?.users.length === 0,
      "the presence to lapse",
    );
    deepStrictEqual(await where.run(["status", "printer"]), {
      code: 0,
      stdout:
        `${"printer".padEnd(50)}${"1".padStart(10)}\n${"-".repeat(60)}\n` +
        `${"(gone: the next user skips it)".padEnd(50)}${"1".padStart(10)}\n`,
      stderr: "",
    });
    const json = await where.run(["status", "--json", "printer"]);
    const [{ fence }] = await locker.status(["printer"]);
    ok(fence > 0n, "the killed holder had taken its fencing token");
    deepStrictEqual(JSON.parse(json.stdout), [{
      resource: "printer",
      indicator: 1,
      dispenser: 1,
      size: 1,
      fence: String(fence),
      deadHead: {
        number: 1,
        skipped: "at once, by the next user to draw or wait",
      },
      users: [],
    }]);
    await using watch = spawnCli(
      ["--url", where.url, "status", "--watch", "printer"],
      { permissions: where.permissions },
    );
    await watch.stdoutHas("(gone: the next user skips it)\n");
    watch.kill("SIGINT");
    const { stdout } = await within(watch.result(), 30_000, "the watch");
    ok(/\n {2}gone +1 +\(gone: the next user skips it\)\n/.test(stdout));
    // As said: the next user, even one that will not wait, skips it.
    deepStrictEqual(
      await where.run(["run", "-n", "printer", "--", "echo", "ok"]),
      {
        code: 0,
        stdout: "ok\n",
        stderr: "",
      },
    );
  });
}
