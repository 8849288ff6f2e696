/**
 * `deno task demo`: what turn does, in a few seconds and without a server.
 * Four processes take turns on one resource through the file backend; a
 * holder is killed and the next user goes on at once; then the same
 * workload runs under a polling lock, for comparison.
 *
 * @module
 */

import { Locker, type TurnEvent } from "../../mod.ts";
import type { TurnRecord } from "./worker.ts";
import {
  HOLD_MS,
  now,
  PAUSE_MS,
  POLL_MS,
  RESOURCE,
  TURNS,
  WORKERS,
} from "./workload.ts";

const WORKER = new URL("worker.ts", import.meta.url).pathname;

type Kind = "turn" | "polling";

interface Outcome {
  readonly grants: number;
  /** Grants made while someone who got in line earlier was still waiting. */
  readonly passed: number;
  readonly worstWait: number;
}

/**
 * Starts `worker.ts` with access to `dir` only, and no configuration: it
 * needs no package.
 */
function spawnWorker(
  dir: string,
  args: string[],
  stdin: "piped" | "null" = "null",
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      WORKER,
      ...args,
    ],
    stdin,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Splits text into lines. */
function lines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
  });
}

/** A worker process running the workload, started when all are ready. */
class Contender {
  readonly #child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;

  constructor(dir: string, kind: Kind, name: string) {
    this.#child = spawnWorker(dir, ["turns", kind, dir, name], "piped");
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .pipeThrough(lines()).getReader();
  }

  /** Resolves once the worker has said it is ready. */
  async ready(): Promise<void> {
    const { value } = await this.#lines.read();
    if (value !== "ready") throw new Error(`a worker said ${value}`);
  }

  /** Starts the workload; resolves to its records when the worker is done. */
  async run(): Promise<TurnRecord[]> {
    await this.#child.stdin.close();
    const records: TurnRecord[] = [];
    while (true) {
      const { value, done } = await this.#lines.read();
      if (done) break;
      records.push(JSON.parse(value));
    }
    const { code } = await this.#child.status;
    if (code !== 0) throw new Error(`a worker failed with exit code ${code}`);
    return records;
  }
}

/**
 * Whether `g` was granted while `h`, who got in line earlier, still waited.
 * With turn, the line is the numbers, and `h` is in it once it has drawn
 * (two users in line at once always hold numbers of one queue). The polling
 * lock has no line: `h` is waiting from the moment it first asked.
 */
function passes(g: TurnRecord, h: TurnRecord): boolean {
  const inLine = h.line?.drawn ?? h.asked;
  const waiting = inLine < g.granted && g.granted < h.granted;
  const earlier = g.line && h.line
    ? h.line.number < g.line.number
    : h.asked < g.asked;
  return waiting && earlier;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

/** Runs the workload under `kind`, printing each grant in order. */
async function run(dir: string, kind: Kind): Promise<Outcome> {
  const workers = Array.from(
    { length: WORKERS },
    (_, i) => new Contender(dir, kind, `worker-${i + 1}`),
  );
  await Promise.all(workers.map((worker) => worker.ready()));
  const records = (await Promise.all(workers.map((worker) => worker.run())))
    .flat()
    .sort((a, b) => a.granted - b.granted);
  let passed = 0;
  for (const g of records) {
    const earlier = records.filter((h) => passes(g, h)).map((h) => h.name);
    if (earlier.length > 0) passed++;
    const number = g.line ? `#${g.line.number}` : "";
    const note = earlier.length ? `, passing ${earlier.join(" and ")}` : "";
    const waited = ms(g.granted - g.asked).padStart(6);
    console.log(`  ${g.name} ${number.padEnd(3)} waited ${waited}${note}`);
  }
  const worstWait = Math.max(...records.map((r) => r.granted - r.asked));
  return { grants: records.length, passed, worstWait };
}

/**
 * Prints follow's lines, as `turn follow` shows them, up to the first event
 * of `kind` (of the user labelled `label`, if given).
 */
async function showUntil(
  follow: AsyncIterator<TurnEvent>,
  kind: TurnEvent["kind"],
  label?: string,
): Promise<TurnEvent> {
  while (true) {
    const { value, done } = await follow.next();
    if (done) throw new Error(`the follow ended before ${kind}`);
    console.log(`  ${value.message}`);
    if (value.kind === kind && (!label || value.label === label)) return value;
  }
}

/**
 * Kills a holder with SIGKILL while another process waits; resolves to the
 * time from the kill to the waiter's start.
 */
async function killHolder(dir: string, locker: Locker): Promise<number> {
  await using follow = locker.follow([RESOURCE]);
  await follow.ready;
  const holder = spawnWorker(dir, ["hold", dir, "holder"]);
  const held = await showUntil(follow, "started");
  const waiter = spawnWorker(dir, ["hold", dir, "waiter"]);
  await showUntil(follow, "assigned", "waiter");
  const killed = now();
  holder.kill("SIGKILL");
  console.log(`  (SIGKILL to the process holding number ${held.number})`);
  const started = await showUntil(follow, "started");
  const gap = started.time - killed;
  console.log(
    `  ("granted": the turn moved on to number ${started.number}; "started": its user began)`,
  );
  waiter.kill("SIGKILL");
  await Promise.all([holder.status, waiter.status]);
  await Promise.all([holder.stdout.cancel(), waiter.stdout.cancel()]);
  return gap;
}

const dir = await Deno.makeTempDir({ prefix: "turn-demo-" });
try {
  await using locker = new Locker({ url: `file://${dir}` });
  console.log(
    `turn demo: the file backend in ${dir}, no server.\n` +
      `${WORKERS} processes each take ${TURNS} turns on "${RESOURCE}": ` +
      `ask, hold ${HOLD_MS} ms, pause up to ${PAUSE_MS} ms, ask again.\n`,
  );
  console.log("1. turn: everyone is served in the order of their numbers");
  const fair = await run(dir, "turn");
  console.log("\n2. A holder is killed (what `turn follow printer` shows)");
  const gap = await killHolder(dir, locker);
  console.log(
    `\n3. The same workload with a polling lock: take it if free, else look again in ${POLL_MS} ms`,
  );
  const unfair = await run(dir, "polling");
  console.log(
    [
      "",
      "Summary",
      `  earlier waiter passed: turn ${fair.passed} of ${fair.grants} grants, polling lock ${unfair.passed} of ${unfair.grants}`,
      `  worst wait:            turn ${ms(fair.worstWait)}, polling lock ${
        ms(unfair.worstWait)
      }`,
      `  holder killed:         the next user started ${ms(gap)} later`,
    ].join("\n"),
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
