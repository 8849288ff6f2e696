import assert from "node:assert/strict";
import { holds, Witness } from "./witness.ts";
import { Locker } from "../mod.ts";

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

Deno.test("a turn that a failed lockAll gave back no longer holds for the witness, though its signal is quiet", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using locker = new Locker({ url: `file://${dir}/q` });
    const lock = await locker.lock("r0");
    assert.equal(holds(lock), true);
    // lockAll gives back what it held by release(), not by losing it.
    const releasing = lock.release();
    assert.equal(lock.signal.aborted, false);
    assert.equal(holds(lock), false);
    await releasing;
    const newcomer = new Witness(dir, "b.1");
    await new Witness(dir, "a.1").enter("r0", () => true);
    assert.deepEqual(await newcomer.enter("r0", () => holds(lock)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
