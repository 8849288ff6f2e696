// The Deno example runs with one command and prints one job at a time,
// twice in a row on one Redis, leaving nothing behind.
import { match } from "node:assert/strict";
import { runExampleTwice } from "../support/helpers.ts";

Deno.test("examples/deno: five print jobs take turns on the printer", async () => {
  await runExampleTwice("deno/main.ts", (output) => {
    for (const number of [1, 2, 3, 4, 5]) {
      match(output, new RegExp(`number ${number} \\(\\w+\\) is printing`));
    }
    match(output, /5 jobs printed, at most 1 at a time/);
  });
});
