// The shell example runs with `turn` on PATH: here the Deno CLI, installed
// the way README.md and docs/CLI.md say (into a temp root). The Node tests
// run it with the npm package's `turn`.
import { deepEqual, equal, match } from "node:assert/strict";
import { Redis } from "ioredis";
import { allKeys } from "../support/helpers.ts";
import { CLI_PERMISSIONS } from "../support/cli.ts";
import { startRedis } from "../../support/redis_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const EXAMPLE = new URL("../../examples/shell/counter.sh", import.meta.url);

async function succeed(command: Deno.Command): Promise<string> {
  const { code, stdout, stderr } = await command.output();
  const output = new TextDecoder().decode(stdout);
  equal(code, 0, output + new TextDecoder().decode(stderr));
  return output;
}

Deno.test("examples/shell: jobs under turn run never lose an update", async () => {
  await using server = await startRedis();
  const root = await Deno.makeTempDir({ prefix: "turn-install-" });
  try {
    await succeed(
      new Deno.Command(Deno.execPath(), {
        args: [
          "install",
          "-g",
          "--root",
          root,
          "-n",
          "turn",
          "--config",
          "deno.json",
          "--quiet",
          ...CLI_PERMISSIONS,
          "cli.ts",
        ],
        cwd: ROOT,
      }),
    );
    // Twice in a row on one Redis, found as turn finds it (REDIS_URL last).
    for (let run = 1; run <= 2; run++) {
      const output = await succeed(
        new Deno.Command("bash", {
          args: [EXAMPLE.pathname],
          env: {
            TURN_URL: "",
            TURN_REDIS_URL: "",
            REDIS_URL: server.url,
            PATH: `${root}/bin:${Deno.env.get("PATH")}`,
          },
        }),
      );
      match(output, /counter: 8 \(expected 8\)/);
    }
    const redis = new Redis(server.url);
    deepEqual(await allKeys(redis), [], "the example left keys behind");
    redis.disconnect();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
