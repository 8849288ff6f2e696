/**
 * What a Lock from a Locker tells about its lease beyond its signal:
 * `validUntil` (Redis: the last renewal that reached Redis plus expire) and
 * `presenceFile` (the file backend: a shared lock on it keeps the turn).
 */

import * as assert from "node:assert/strict";
import { lockerTest } from "./support/helpers.ts";

lockerTest(
  "a Lock tells until when its turn is certainly held, and which file keeps it (file backend)",
  async (t) => {
    const locker = t.locker();
    const before = Date.now();
    await using lock = await locker.lock("printer", { expire: 5_000 });
    if (t.backend === "redis") {
      assert.equal(lock.presenceFile, undefined);
      assert.ok(lock.validUntil >= before + 5_000, `${lock.validUntil}`);
      assert.ok(lock.validUntil <= Date.now() + 5_000, `${lock.validUntil}`);
      return;
    }
    assert.equal(lock.validUntil, Infinity);
    const file = lock.presenceFile!;
    assert.ok((await Deno.stat(file)).isFile, file);
    // Its owner holds it shared, so another process can share it (and keep
    // the turn, as turn run's command does), but none can take it alone.
    const flock = async (mode: string) =>
      (await new Deno.Command("flock", { args: [mode, "-n", file, "true"] })
        .output()).code;
    assert.deepEqual([await flock("-s"), await flock("-x")], [0, 1]);
  },
);
