/**
 * Every `deno install` line of docs/INSTALL.md and docs/CLI.md gives the CLI
 * permissions that work: the tests run it with exactly those flags, on each
 * backend the line allows (the lock directory moved to a temporary one).
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { startRedis } from "../../support/redis_server.ts";

const PAGES = ["../../docs/INSTALL.md", "../../docs/CLI.md"];
const LOCK_DIR = "/var/lock/turn";

/** The `deno install -g -n turn ...` lines of a page. */
async function installLines(page: string): Promise<string[]> {
  const text = await Deno.readTextFile(new URL(page, import.meta.url));
  return text.split("\n").filter((line) =>
    line.startsWith("deno install -g -n turn ")
  );
}

/** The permission flags of an install line, for `deno run`. */
function permissionsOf(line: string, dir: string): string[] {
  const words = line.split(" ").slice(5, -1);
  return words
    .filter((word, i) =>
      word !== "--quiet" && word !== "--config" && words[i - 1] !== "--config"
    )
    .map((word) => word.replaceAll(LOCK_DIR, dir));
}

for (const page of PAGES) {
  Deno.test(`the deno install lines of ${page.slice(3)} work on each backend they allow`, async () => {
    const lines = await installLines(page);
    ok(lines.length > 0, "no install line");
    await using server = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "turn-cli-install-" });
    try {
      for (const line of lines) {
        const permissions = permissionsOf(line, `${dir}/locks`);
        const urls = [
          ...(permissions.includes("--allow-net") ? [server.url] : []),
          ...(line.includes(`--allow-write=${LOCK_DIR}`)
            ? [`file://${dir}/locks`]
            : []),
        ];
        ok(urls.length > 0, `a line for no backend: ${line}`);
        for (const url of urls) {
          deepStrictEqual(
            await runCli(
              ["--url", url, "run", "printer", "--", "echo", "ran"],
              { permissions },
            ),
            { code: 0, stdout: "ran\n", stderr: "" },
            `${url} with ${line}`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("the first deno install line of docs/INSTALL.md allows both backends", async () => {
  const [first] = await installLines(PAGES[0]);
  for (
    const flag of [
      "--allow-net",
      `--allow-read=${LOCK_DIR}`,
      `--allow-write=${LOCK_DIR}`,
    ]
  ) {
    ok(first.split(" ").includes(flag), flag);
  }
});
