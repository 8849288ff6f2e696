import { deepStrictEqual, equal, match } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { FOLLOW_DIR, resourcePaths, TEMP_MARK } from "../../src/file/layout.ts";
import { writeState } from "../../src/file/state.ts";
import { filesUnder, waitFor } from "../support/helpers.ts";
import { fileCliPermissions, runCli, spawnCli } from "../support/cli.ts";
import { freePort } from "../../support/redis_server.ts";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "turn-cli-files-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("turn --url file:// run: concurrent runs never overlap, with only read and write on the directory", () =>
  withDir(async (dir) => {
    const marker = `${dir}/inside`;
    // noclobber creates the marker with O_EXCL: a second command inside at
    // the same time cannot create it and exits 9.
    const critical =
      `set -C; : > '${marker}' || exit 9; sleep 0.05; rm '${marker}'`;
    const runs = Array.from({ length: 4 }, (_, i) =>
      runCli(
        [
          "--url",
          `file://${dir}`,
          "run",
          "--label",
          `run ${i}`,
          "printer",
          "--",
          "sh",
          "-c",
          `for k in 1 2 3; do ${critical}; done`,
        ],
        { permissions: fileCliPermissions(dir) },
      ));
    for (const { code, stdout, stderr } of await Promise.all(runs)) {
      deepStrictEqual({ code, stdout }, { code: 0, stdout: "" }, stderr);
      match(stderr, /^(printer: waiting, \d+ ahead\n)*$/);
    }
    deepStrictEqual(await filesUnder(dir), []);
  }));

Deno.test("TURN_URL=file:// wins over TURN_REDIS_URL and REDIS_URL", () =>
  withDir(async (dir) => {
    const unreachable = `redis://127.0.0.1:${freePort()}/0`;
    const env = {
      TURN_URL: `file://${dir}`,
      TURN_REDIS_URL: unreachable,
      REDIS_URL: unreachable,
    };
    const permissions = fileCliPermissions(dir);
    await using lock = spawnCli(["lock", "--label", "held", "printer"], {
      env,
      permissions,
    });
    await lock.stdoutHas("printer");
    const status = await runCli(["status", "--json", "printer"], {
      env,
      permissions,
    });
    equal(status.code, 0, status.stderr);
    const [printer] = JSON.parse(status.stdout);
    deepStrictEqual(printer.users, [{ number: 1, label: "held", ttl: -1 }]);
    lock.kill("SIGINT");
    equal((await lock.result()).code, 0);
    deepStrictEqual(await filesUnder(dir), []);
  }));

Deno.test("a file: url with a Redis connection flag is a usage error", async () => {
  const result = await runCli([
    "--url",
    "file:///tmp/x",
    "--db",
    "2",
    "status",
  ]);
  equal(result.code, 2);
  match(result.stderr, /--url cannot be combined with/);
  const bad = await runCli(["--url", "file://otherhost/x", "status"]);
  equal(bad.code, 2);
  match(bad.stderr, /url must name a directory on this host/);
});

Deno.test("turn follow and turn reset on the file backend print turn 1.0's lines", () =>
  withDir(async (dir) => {
    const url = `file://${dir}`;
    const permissions = fileCliPermissions(dir);
    await using follow = spawnCli(["--url", url, "follow", "printer"], {
      permissions,
    });
    // Following once its inbox is in place.
    await waitFor(
      async () =>
        (await filesUnder(dir)).some((p) =>
          p.startsWith(`${FOLLOW_DIR}/`) && !p.includes(TEMP_MARK)
        ),
      "follow's inbox",
    );
    let fence = 0n;
    {
      await using locker = new Locker({ url });
      await (await locker.lock("scanner", { label: "other" })).release();
      const lock = await locker.lock("printer", { label: "test_label" });
      await lock.release();
      fence = lock.fence;
    }
    const expected = `\
printer: 1 assigned to "test_label"
printer: 1 started (fence ${fence})
printer: 1 completed by "test_label"
printer: 2 granted
`;
    await follow.stdoutHas(expected);
    follow.kill("SIGINT");
    deepStrictEqual(await follow.result(), {
      code: 0,
      stdout: expected,
      stderr: "",
    });
    // A queue whose users all died: reset skips them and removes it.
    const paths = resourcePaths(dir, "printer");
    await Deno.mkdir(paths.dir);
    writeState(paths, { dispenser: 3, indicator: 2 });
    const reset = () =>
      runCli(["--url", url, "reset", "printer"], { permissions });
    deepStrictEqual(await reset(), { code: 0, stdout: "", stderr: "" });
    deepStrictEqual(await reset(), {
      code: 0,
      stdout: 'No such queue: "printer".\n',
      stderr: "",
    });
    deepStrictEqual(await filesUnder(dir), []);
  }));
