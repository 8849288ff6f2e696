/**
 * The NestJS adapter hands each `@Turn` call its fencing token through
 * `currentTurn()`: a real Nest application (NestJS 11 and 12) against a real
 * redis-server.
 *
 * @module
 */

import assert from "node:assert/strict";
import { redisTest } from "../support/helpers.ts";
import { Fixture, VERSIONS } from "./nestjs/run.ts";

for (const version of VERSIONS) {
  redisTest(
    `NestJS ${version}: currentTurn() gives each call its own fencing token, growing in turn order`,
    async ({ server, redis }) => {
      const nowhere = "redis://127.0.0.1:1/0";
      await using app = new Fixture(version, "fence.ts", {
        env: {
          FIXTURE_REDIS_URL: server.url,
          TURN_REDIS_URL: nowhere,
          REDIS_URL: nowhere,
        },
      });
      const calls = await app.next<number>("RESULT");
      assert.equal(await app.exit(), 0);
      const levels = await redis.lrange("store:levels", 0, -1);
      assert.deepEqual(levels, Array(calls).fill("1"), "calls overlapped");
      // Recorded inside each turn, so the list is in turn order.
      const rows: string[][] = (await redis.lrange("store:fences", 0, -1))
        .map((row) => JSON.parse(row));
      assert.equal(rows.length, calls);
      for (const [own, status, again] of rows) {
        assert.equal(status, own, "status reports the holder's token");
        assert.equal(again, own, "the call's token stayed its own");
      }
      const fences = rows.map(([own]) => BigInt(own));
      assert.ok(fences[0] > 0n);
      for (let k = 1; k < fences.length; k++) {
        assert.ok(fences[k] > fences[k - 1], fences.join(" "));
      }
    },
  );
}
