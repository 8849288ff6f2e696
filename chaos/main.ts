/**
 * `deno task chaos`: a randomized, reproducible check of turn's guarantees
 * against real worker processes and a real redis-server (or the file
 * backend), with faults. The same seed replays the same schedule of
 * operations and faults. Exits 1 on any violation.
 *
 * Usage: `deno task chaos [--seed N] [--seconds S] [--backend redis|file]
 * [--workers W] [--resources R] [--runs N] [--history FILE] [--json]`.
 * With `--runs N`, runs seeds N..N+runs-1 one after another and prints the
 * totals.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { check } from "./checker.ts";
import { inOrder, type RunSettings } from "./history.ts";
import { report, summarize, type Summary, totals } from "./report.ts";
import { runChaos } from "./run.ts";

const USAGE =
  "usage: deno task chaos [--seed N] [--seconds S] [--backend redis|file] [--workers W] [--resources R] [--runs N] [--history FILE] [--json]";

function wholeNumber(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `--${name} must be a whole number of at least ${min}: got ${text}`,
    );
  }
  return value;
}

function settingsFrom(args: string[]): RunSettings & {
  history?: string;
  json: boolean;
  runs: number;
} {
  const { values } = parseArgs({
    args,
    options: {
      seed: { type: "string" },
      seconds: { type: "string", default: "60" },
      backend: { type: "string", default: "redis" },
      workers: { type: "string", default: "5" },
      resources: { type: "string", default: "3" },
      runs: { type: "string", default: "1" },
      history: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (values.backend !== "redis" && values.backend !== "file") {
    throw new RangeError(
      `--backend must be redis or file: got ${values.backend}`,
    );
  }
  const resources = wholeNumber("resources", values.resources, 2);
  return {
    seed: values.seed === undefined
      ? Math.floor(Math.random() * 2 ** 31)
      : wholeNumber("seed", values.seed, 0),
    seconds: wholeNumber("seconds", values.seconds, 1),
    backend: values.backend,
    workers: wholeNumber("workers", values.workers, 2),
    resources: Array.from({ length: resources }, (_, i) => `r${i}`),
    history: values.history,
    json: values.json,
    runs: wholeNumber("runs", values.runs, 1),
  };
}

async function runOnce(
  run: RunSettings,
  historyFile: string | undefined,
  json: boolean,
): Promise<Summary> {
  console.error(
    `chaos: seed ${run.seed}, ${run.seconds} s, ${run.backend} backend`,
  );
  const events = inOrder(await runChaos(run));
  const result = check(events);
  const saveTo = historyFile ??
    (result.violations.length
      ? await Deno.makeTempFile({
        prefix: `chaos-${run.seed}-`,
        suffix: ".jsonl",
      })
      : undefined);
  if (saveTo) {
    await Deno.writeTextFile(
      saveTo,
      events.map((e) => JSON.stringify(e)).join("\n") + "\n",
    );
  }
  console.log(report(run, events, result));
  if (saveTo) console.log(`  the whole history: ${saveTo}`);
  const summary = summarize(events, result);
  if (json) console.log(JSON.stringify({ seed: run.seed, ...summary }));
  return summary;
}

async function main(args: string[]): Promise<number> {
  let settings;
  try {
    settings = settingsFrom(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { history, json, runs, ...run } = settings;
  const summaries: Summary[] = [];
  for (let i = 0; i < runs; i++) {
    const seed = run.seed + i;
    const file = history && runs > 1 ? `${history}.${seed}` : history;
    summaries.push(await runOnce({ ...run, seed }, file, json));
  }
  if (runs > 1) console.log(totals(run, summaries));
  return summaries.some((s) => Object.keys(s.violations).length) ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
