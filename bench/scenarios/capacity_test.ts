import assert from "node:assert/strict";
import { analysePlaces } from "./capacity.ts";

Deno.test("places: utilisation of N places, gaps only while someone waited", () => {
  const figures = analysePlaces(
    [
      [{ ask: 0, grant: 0, release: 4, released: 4 }],
      [{ ask: 0, grant: 0, release: 2, released: 2 }],
      [{ ask: 1, grant: 3, release: 4, released: 4 }],
    ],
    2,
    0.1,
  );
  // Two places over 4 ms: 4 + 2 + 1 ms held.
  assert.equal(figures.utilisation, 7 / 8);
  // The place freed at 2 stayed empty until 3, while the third waited.
  assert.equal(figures.gapP50Ms, 1);
  assert.equal(figures.waitMaxMs, 2);
  assert.equal(figures.maxHolders, 2);
  assert.equal(figures.fifoViolations, 0);
  assert.equal(figures.failures, 0);
});

Deno.test("places: a later asker served first is a FIFO violation beyond the tolerance", () => {
  const cycles = [
    [{ ask: 0, grant: 0, release: 10, released: 10 }],
    [{ ask: 1, grant: 8, release: 9, released: 9 }],
    [{ ask: 2, grant: 3, release: 4, released: 4 }],
  ];
  assert.equal(analysePlaces(cycles, 2, 0.5).fifoViolations, 1);
  assert.equal(analysePlaces(cycles, 2, 5).fifoViolations, 0);
});

Deno.test("places: more holders than places and failures are counted", () => {
  const figures = analysePlaces(
    [
      [{ ask: 0, grant: 0, release: 3, released: 3 }, { ask: 4, failed: 9 }],
      [{ ask: 0, grant: 1, release: 3, released: 3 }],
      [{ ask: 0, grant: 2, release: 3, released: 3 }],
    ],
    2,
    0.1,
  );
  assert.equal(figures.maxHolders, 3);
  assert.equal(figures.failures, 1);
});
