// The BullMQ example runs with one command and keeps every account's balance.
import { equal, match } from "node:assert/strict";
import { runExample } from "./_helpers.ts";

Deno.test("examples/bullmq: two worker processes charge every invoice, in turns per account", async () => {
  const { code, output } = await runExample("bullmq/main.ts");
  equal(code, 0, output);
  for (const account of ["alice", "bob", "carol"]) {
    match(output, new RegExp(`${account}'s balance: 50 \\(expected 50\\)`));
  }
  match(output, /granted #\d+/);
});
