import assert from "node:assert/strict";
import { lockerTest } from "./support/helpers.ts";

lockerTest(
  "a LockSet carries one fencing token per lock, each above its resource's previous token",
  async (t) => {
    const [a, b] = [t.locker(), t.locker()];
    const alone = await a.lock("scanner");
    const scannerBefore = alone.fence;
    await alone.release();
    await b.withLock("printer", () => {});
    const set = await a.lockAll(["scanner", "printer"]);
    const [printer, scanner] = set.locks;
    assert.deepEqual(set.locks.map((lock) => lock.resource), [
      "printer",
      "scanner",
    ]);
    assert.ok(scanner.fence > scannerBefore);
    const status = await b.status(["printer", "scanner"]);
    assert.deepEqual(
      status.map((s) => s.fence),
      [printer.fence, scanner.fence],
    );
    await set.release();
    const tried = await b.tryLockAll(["printer", "scanner"]);
    assert.ok(tried);
    assert.ok(tried.locks[0].fence > printer.fence);
    assert.ok(tried.locks[1].fence > scanner.fence);
    await tried.release();
  },
);
