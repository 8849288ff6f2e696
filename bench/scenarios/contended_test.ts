import assert from "node:assert/strict";
import { analyse } from "./contended.ts";

Deno.test("a handoff gap counts from release to the next grant while someone waited", () => {
  const figures = analyse([
    [{ ask: 0, grant: 1, release: 3, released: 3.1, ticket: 1 }],
    [{ ask: 0.5, grant: 4, release: 6, released: 6.1, ticket: 2 }],
  ], 0.1);
  assert.equal(figures.gapP50Ms, 1);
  assert.equal(figures.utilisation, 4 / 5);
  assert.equal(figures.waitMaxMs, 3.5);
  assert.equal(figures.fifoViolations, 0);
  assert.equal(figures.ticketOrderViolations, 0);
  assert.equal(figures.overlaps, 0);
  assert.equal(figures.handoffsPerSec, 1 / (5 / 1000));
});

Deno.test("a later asker served first is a FIFO violation beyond the tolerance", () => {
  const cycles = [
    [{ ask: 0, grant: 5, release: 6, released: 6 }],
    [{ ask: 1, grant: 2, release: 3, released: 3 }],
  ];
  assert.equal(analyse(cycles, 0.5).fifoViolations, 1);
  assert.equal(analyse(cycles, 2).fifoViolations, 0);
  assert.ok(Number.isNaN(analyse(cycles, 0.5).ticketOrderViolations));
});

Deno.test("failed acquisitions and overlapping grants are counted", () => {
  const figures = analyse([
    [{ ask: 0, grant: 1, release: 4, released: 4 }, { ask: 5, failed: 9 }],
    [{ ask: 0, grant: 3, release: 6, released: 6 }],
  ], 0.1);
  assert.equal(figures.failures, 1);
  assert.equal(figures.overlaps, 1);
});

Deno.test("grants out of ticket order are counted; a restart at 1 is not", () => {
  const figures = analyse([
    [
      { ask: 0, grant: 1, release: 2, released: 2, ticket: 3 },
      { ask: 3, grant: 5, release: 6, released: 6, ticket: 1 },
    ],
    [{ ask: 0, grant: 3, release: 4, released: 4, ticket: 2 }],
  ], 0.1);
  assert.equal(figures.ticketOrderViolations, 1);
});
