import assert from "node:assert/strict";
import { acrossRounds, jain, median, quantile } from "./stats.ts";

Deno.test("quantile and median of unsorted values", () => {
  const values = [5, 1, 4, 2, 3];
  assert.equal(median(values), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(quantile(values, 0.99), 5);
  assert.equal(quantile(values, 0.2), 1);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

Deno.test("Jain's index is 1 for equal shares and 1/n when one takes all", () => {
  assert.equal(jain([3, 3, 3, 3]), 1);
  assert.equal(jain([12, 0, 0, 0]), 0.25);
});

Deno.test("acrossRounds takes medians, sums counts, interleaves names", async () => {
  const order: string[] = [];
  const result = await acrossRounds(
    3,
    ["a", "b"],
    (name, round) => {
      order.push(`${name}${round}`);
      return Promise.resolve({ speed: round * 10, errors: 1 });
    },
    ["errors"],
  );
  assert.deepEqual(order, ["a0", "b0", "a1", "b1", "a2", "b2"]);
  assert.deepEqual(result.a, { speed: 10, errors: 3 });
});
