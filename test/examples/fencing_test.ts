import assert from "node:assert/strict";
import { runExampleTwice } from "../support/helpers.ts";

Deno.test("examples/fencing: a frozen holder's stale write is refused with fencing, and overwrites without", async () => {
  await runExampleTwice("fencing/main.ts", (output) => {
    assert.equal(
      output,
      `with fencing: the frozen holder's write was refused; the store holds "fresh"\n` +
        `without fencing: the frozen holder's write was accepted; the store holds "stale"\n`,
    );
  });
});
