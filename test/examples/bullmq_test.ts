// The BullMQ example runs with one command and keeps every account's balance,
// twice in a row on one Redis, leaving nothing behind.
import { match } from "node:assert/strict";
import { runExampleTwice } from "../support/helpers.ts";

Deno.test("examples/bullmq: two worker processes charge every invoice, in turns per account", async () => {
  await runExampleTwice("bullmq/main.ts", (output) => {
    for (const account of ["alice", "bob", "carol"]) {
      match(output, new RegExp(`${account}'s balance: 50 \\(expected 50\\)`));
    }
    match(output, /granted #\d+/);
  });
});

Deno.test("examples/bullmq/partner_api: at most 3 calls per account at once, across two workers", async () => {
  await runExampleTwice("bullmq/partner_api.ts", (output) => {
    match(output, /20 calls, at most 3 at once \(capacity 3\)/);
  });
});
