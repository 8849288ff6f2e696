// The BullMQ example runs with one command and keeps every account's balance.
import { equal, match } from "node:assert/strict";
import { startRedis } from "./redis_server.ts";

const EXAMPLE = new URL("../examples/bullmq/main.ts", import.meta.url);

Deno.test("examples/bullmq: two worker processes charge every invoice, in turns per account", async () => {
  await using server = await startRedis();
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE.pathname],
    env: { TURN_REDIS_URL: server.url },
    stderr: "inherit",
  }).output();
  const output = new TextDecoder().decode(stdout);
  equal(code, 0, output);
  for (const account of ["alice", "bob", "carol"]) {
    match(output, new RegExp(`${account}'s balance: 50 \\(expected 50\\)`));
  }
  match(output, /granted #\d+/);
});
