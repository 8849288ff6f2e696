// The Deno example runs with one command and prints one job at a time.
import { equal, match } from "node:assert/strict";
import { startRedis } from "./redis_server.ts";

const EXAMPLE = new URL("../examples/deno/main.ts", import.meta.url);

Deno.test("examples/deno: five print jobs take turns on the printer", async () => {
  await using server = await startRedis();
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE.pathname],
    env: { TURN_REDIS_URL: server.url },
    stderr: "inherit",
  }).output();
  const output = new TextDecoder().decode(stdout);
  equal(code, 0, output);
  for (const number of [1, 2, 3, 4, 5]) {
    match(output, new RegExp(`number ${number} \\(\\w+\\) is printing`));
  }
  match(output, /5 jobs printed, at most 1 at a time/);
});
