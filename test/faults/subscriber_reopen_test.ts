// A waiter that has drawn its number may find Redis away just as it
// subscribes for announcements. The subscription must come back with Redis,
// not leave the waiter deaf (or failed) for good.
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Subscriber } from "../../src/redis/subscriber.ts";
import { waitUntilReady } from "../../src/redis/client.ts";
import { freePort, startRedis } from "../../support/redis_server.ts";
import { within } from "../support/helpers.ts";

Deno.test({
  name: "a subscription that failed while Redis was away is made on reopen",
  async fn() {
    const port = freePort();
    const subscriber = new Subscriber(
      () => new Redis({ port, host: "127.0.0.1", lazyConnect: true }),
      (client) => waitUntilReady(client, `127.0.0.1:${port}`, 500),
    );
    const heard = Promise.withResolvers<string>();
    await assert.rejects(
      subscriber.listen(
        "turn:r:internal",
        (_, payload) => heard.resolve(payload),
      ),
      { name: "ConnectionError" },
    );
    await using server = await startRedis({ port });
    await subscriber.reopen();
    const publisher = new Redis(server.url);
    try {
      await publisher.publish("turn:r:internal", "turn:r:serial:1");
      assert.equal(
        await within(heard.promise, 5_000, "announcement"),
        "turn:r:serial:1",
      );
    } finally {
      publisher.disconnect();
      await subscriber.close();
    }
  },
});

// A grant published while the waiter's subscription was not live is lost,
// and its last poll came before: the waiter must be told once the
// subscription is made again, or it waits for its next heartbeat (expire / 3)
// for every hand-over it misses so.
Deno.test({
  name: "reopen says when a failed subscription is live again, once",
  async fn() {
    const port = freePort();
    let told = 0;
    const live = Promise.withResolvers<void>();
    const subscriber = new Subscriber(
      () => new Redis({ port, host: "127.0.0.1", lazyConnect: true }),
      (client) => waitUntilReady(client, `127.0.0.1:${port}`, 500),
      () => {
        told++;
        live.resolve();
      },
    );
    await assert.rejects(
      subscriber.listen("turn:r:wake:a", () => {}),
      { name: "ConnectionError" },
    );
    await using _server = await startRedis({ port });
    try {
      await subscriber.reopen();
      await within(live.promise, 5_000, "told the subscription is live");
      // Already live: nothing was missed, nobody needs to ask.
      await subscriber.reopen();
      assert.equal(told, 1);
    } finally {
      await subscriber.close();
    }
  },
});
