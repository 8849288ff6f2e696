import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";
import { UsageError } from "../errors.ts";

Deno.test("parseDuration() reads every unit and sums compound durations", () => {
  const cases: [string, number][] = [
    ["500ms", 500],
    ["30s", 30_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1h2m3s4ms", 3_723_004],
    ["1.5s", 1_500],
    ["0.25ms", 0],
    ["0s", 0],
  ];
  deepStrictEqual(
    cases.map(([text]) => [text, parseDuration(text)]),
    cases,
  );
});

Deno.test("parseDuration() refuses bare numbers and junk, naming the value", () => {
  for (
    const text of ["30", "", "-5s", "5 s", "s", "5sec", "1.s", "5S", "1e3ms"]
  ) {
    throws(() => parseDuration(text, "--timeout"), (error: unknown) => {
      ok(error instanceof UsageError);
      deepStrictEqual(
        (error as Error).message,
        `--timeout must be a number with a unit (ms, s, m, h), such as 500ms, 30s or 1m30s: got "${text}"`,
      );
      return true;
    });
  }
});

Deno.test("formatDuration() shortens to the largest sensible unit", () => {
  const cases: [number, string][] = [
    [-5, "0s"],
    [0, "0s"],
    [999, "0s"],
    [1_000, "1s"],
    [59_999, "59s"],
    [60_000, "1m00s"],
    [185_000, "3m05s"],
    [3_600_000, "1h00m"],
    [7_620_000, "2h07m"],
  ];
  deepStrictEqual(cases.map(([ms]) => [ms, formatDuration(ms)]), cases);
});
