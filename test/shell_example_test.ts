// The shell example runs with `turn` on PATH (here the Deno CLI, with the
// permissions docs/CLI.md gives it; the Node tests run it with the npm bin).
import { equal, match } from "node:assert/strict";
import { cliShellLine } from "./cli_helpers.ts";
import { startRedis } from "./redis_server.ts";

const EXAMPLE = new URL("../examples/shell/counter.sh", import.meta.url);

Deno.test("examples/shell: jobs under turn run never lose an update", async () => {
  await using server = await startRedis();
  const bin = await Deno.makeTempDir({ prefix: "turn-bin-" });
  try {
    await Deno.writeTextFile(
      `${bin}/turn`,
      `#!/bin/sh\nexec ${cliShellLine([])} "$@"\n`,
      { mode: 0o755 },
    );
    const { code, stdout, stderr } = await new Deno.Command("bash", {
      args: [EXAMPLE.pathname],
      env: {
        TURN_REDIS_URL: server.url,
        PATH: `${bin}:${Deno.env.get("PATH")}`,
      },
    }).output();
    const output = new TextDecoder().decode(stdout);
    equal(code, 0, output + new TextDecoder().decode(stderr));
    match(output, /counter: 8 \(expected 8\)/);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
