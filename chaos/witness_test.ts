import assert from "node:assert/strict";
import { Witness } from "./witness.ts";

Deno.test("a newcomer that holds removes the entries it finds; one whose lease ran out while entering removes none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const holder = new Witness(dir, "a.1");
    assert.deepEqual(await holder.enter("r0", () => true), []);
    const stale = new Witness(dir, "b.1");
    assert.deepEqual(await stale.enter("r0", () => false), []);
    assert.equal(await holder.inside("r0"), true);
    await stale.leave("r0");
    const next = new Witness(dir, "c.1");
    assert.deepEqual(await next.enter("r0", () => true), ["a.1"]);
    assert.equal(await holder.inside("r0"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
