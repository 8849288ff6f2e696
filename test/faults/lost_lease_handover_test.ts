// A holder whose connection drops loses its lease at once (it cannot know
// whether Redis kept its keys), and `lock.signal` stays aborted. But when it
// releases, its draw token shows whether the turn is still its own: if Redis
// kept its keys, the next user is granted at once, not once the holder's
// presence lapses a whole `expire` later (issue 14, "A planned failover
// stalls a resource"). Redis may still be away when it releases; the release
// is tried again once it is back.
import assert from "node:assert/strict";
import { Locker } from "../../mod.ts";
import {
  allKeys,
  leaseLost,
  redisTest,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";
import { ReplyDroppingProxy } from "../support/reply_dropping_proxy.ts";

for (const away of ["briefly", "longer than ioredis retries a command"]) {
  redisTest(
    `a holder cut off ${away} hands over at once when it releases, its lease still lost`,
    async (t) => {
      await using proxy = new ReplyDroppingProxy(t.server.port);
      const cutOff = new Locker({ url: proxy.url });
      try {
        // The default expire: 60 s.
        const holder = await cutOff.lock("r", { label: "holder" });
        const waiter = t.locker().lock("r", { label: "next", timeout: 50_000 });
        waiter.catch(() => {});
        await untilQueued(t.locker(), "r", 2);

        proxy.cut();
        await leaseLost(holder);
        const released = holder.release();
        if (away !== "briefly") {
          // ioredis gives up a command after 20 reconnect attempts.
          await waitFor(
            () => Promise.resolve(proxy.refused >= 30),
            "Redis away",
            30_000,
          );
        }
        proxy.resume();
        const back = Date.now();
        await within(released, 10_000, "release() returns");
        const next = await within(waiter, 15_000, "the next user's turn");
        console.log(
          `cut off ${away}: next user granted ${Date.now() - back} ms after ` +
            "the holder could reach Redis again (expire 60000 ms)",
        );
        assert.equal(next.number, 2);
        assert.equal(holder.signal.aborted, true, "the lost lease came back");
        await next.release();
        await waitFor(
          async () => (await allKeys(t.redis)).length === 0,
          "no keys",
        );
      } finally {
        proxy.resume();
        await within(cutOff.close(), 10_000, "the cut-off Locker closes");
      }
    },
  );
}
