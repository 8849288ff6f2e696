/**
 * `deno task bench [--quick] [--scenarios 2,3]`: runs every scenario (or the
 * ones listed) against a throwaway redis-server, prints the figures as
 * markdown and, for a run of every scenario, writes them as JSON to
 * `bench/results/<mode>.json`. See BENCHMARKS.md.
 *
 * @module
 */

import { cpus, loadavg, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { startRedis } from "../support/redis_server.ts";
import { type BenchConfig, FULL, QUICK } from "./config.ts";
import { now } from "./clock.ts";
import {
  FILE_PEERS,
  openPeer,
  type PeerName,
  REDIS_PEERS,
  SCRIPT_PEERS,
  TURN1_PEERS,
} from "./peers.ts";
import { Pool } from "./pool.ts";
import { acrossRounds } from "./stats.ts";
import { renderMarkdown } from "./report.ts";
import type { BenchResults, ContendedRun, Machine } from "./results.ts";
import { measureLimit } from "./scenarios/limit.ts";
import { measureFloor } from "./scenarios/floor.ts";
import { uncontended } from "./scenarios/uncontended.ts";
import { contended, type ContendedShape } from "./scenarios/contended.ts";
import { manyWaiters } from "./scenarios/many_waiters.ts";
import { manyResources } from "./scenarios/many_resources.ts";
import { crash } from "./scenarios/crash.ts";
import {
  places,
  PLACES_PEERS,
  type PlacesShape,
} from "./scenarios/capacity.ts";

const COUNTS = [
  "failures",
  "fifoViolations",
  "overlaps",
  "ticketOrderViolations",
];

/** Scenario 2: real work in the critical section and outside it. */
const WORK: Omit<ContendedShape, "cycles"> = {
  processes: 4,
  holdMs: 2,
  workMs: 1,
};
/** Scenario 3: empty critical section. */
const EMPTY: Omit<ContendedShape, "cycles"> = {
  processes: 8,
  holdMs: 0,
  workMs: 0,
};
const WAITER_PROCESSES = 10;
const RESOURCE_TASKS = 100;
const CRASH_WAITERS = 2;
/** Scenario 7: 8 processes on a resource with 3 places. */
const PLACES: Omit<PlacesShape, "cycles"> = {
  capacity: 3,
  processes: 8,
  holdMs: 2,
  workMs: 1,
};

function log(message: string): void {
  console.error(`bench: ${message}`);
}

async function machine(redis: Redis): Promise<Machine> {
  const info = await redis.info("server");
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
    deno: Deno.version.deno,
  };
}

/** The scenarios, by number; the yardsticks always run. */
const SCENARIOS: readonly number[] = [1, 2, 3, 4, 5, 6, 7];

/** How to run: sizes, scenarios, and extra `deno run` flags for the workers. */
interface RunOptions {
  readonly config: BenchConfig;
  readonly scenarios: readonly number[];
  readonly workerFlags: readonly string[];
}

async function run(
  { config, scenarios, workerFlags }: RunOptions,
): Promise<BenchResults> {
  const want = (scenario: number) => scenarios.includes(scenario);
  const started = now();
  await using server = await startRedis();
  const { url } = server;
  const redis = new Redis(url);
  const { rounds } = config;
  const deadline = setTimeout(() => {
    log(`gave up after ${config.deadlineS} s: a scenario hangs`);
    server.process.kill("SIGKILL"); // workers exit when their stdin closes
    Deno.exit(1);
  }, config.deadlineS * 1000);
  try {
    const host = await machine(redis);
    log(want(1) ? "limit and scenario 1 (uncontended), interleaved" : "limit");
    const { limit, ...uncontendedPeers } = await acrossRounds(
      rounds,
      [
        "limit",
        ...(want(1) ? [...REDIS_PEERS, ...SCRIPT_PEERS, "async-mutex"] : []),
      ],
      async (name) => {
        if (name === "limit") return await measureLimit(redis, config.limitOps);
        await using peer = await openPeer(name as PeerName, {
          url,
          expire: 10_000,
        });
        return await uncontended(peer, redis, config.uncontendedCycles);
      },
    );
    // Started only now, so that their start-up does not disturb scenario 1.
    await using pool = new Pool(WAITER_PROCESSES, workerFlags);
    await pool.ready();
    log("cross-process handoff floor, back to back and after an idle hold");
    const { floor, idleFloor } = await acrossRounds(
      rounds,
      ["floor", "idleFloor"],
      (name) =>
        measureFloor(
          redis,
          pool.workers[0],
          url,
          config.floorMessages,
          name === "floor" ? 0 : WORK.holdMs,
        ),
    );
    // The file locks (turn's file backend, proper-lockfile) share a directory.
    const lockDir = await Deno.makeTempDir({ prefix: "turn-bench-" });
    const fileUrl = `file://${lockDir}`;
    const urlOf = (peer: string) =>
      FILE_PEERS.includes(peer as PeerName) ? fileUrl : url;
    const contendedRun = async (
      title: string,
      shape: ContendedShape,
    ): Promise<ContendedRun> => {
      log(title);
      const peers = await acrossRounds(
        rounds,
        [...REDIS_PEERS, ...TURN1_PEERS, ...FILE_PEERS],
        (peer) =>
          contended(pool, peer as PeerName, urlOf(peer), shape, tolerance),
        COUNTS,
      );
      return { shape, peers };
    };
    // Requests closer than a slow round trip cannot be ordered by client clocks.
    const tolerance = limit.p99Ms;
    const work = want(2)
      ? await contendedRun("scenario 2 (real work)", {
        ...WORK,
        cycles: config.workCycles,
      })
      : undefined;
    const empty = want(3)
      ? await contendedRun("scenario 3 (empty section)", {
        ...EMPTY,
        cycles: config.emptyCycles,
      })
      : undefined;
    await Deno.remove(lockDir, { recursive: true });
    let waiters;
    if (want(4)) {
      log("scenario 4 (many waiters)");
      // A first pass compiles the waiters' code paths in every worker.
      await manyWaiters(pool, redis, url, WAITER_PROCESSES);
      waiters = await acrossRounds(
        rounds,
        config.waiters.map(String),
        (n) => manyWaiters(pool, redis, url, Number(n)),
      );
    }
    let resources;
    if (want(5)) {
      log("scenario 5 (many resources)");
      resources = {
        ...await manyResources(
          pool,
          redis,
          url,
          config.resources,
          RESOURCE_TASKS,
        ),
        count: config.resources,
        concurrency: RESOURCE_TASKS,
      };
    }
    let crashes;
    if (want(6)) {
      log("scenario 6 (crash recovery)");
      crashes = await acrossRounds(
        rounds,
        [...REDIS_PEERS, ...TURN1_PEERS],
        (peer) => crash(pool, peer as PeerName, url, CRASH_WAITERS),
        ["failures"],
      );
    }
    let placesRun;
    if (want(7)) {
      log("scenario 7 (capacity N)");
      const shape = { ...PLACES, cycles: config.workCycles };
      placesRun = {
        shape,
        peers: await acrossRounds(
          rounds,
          PLACES_PEERS,
          (peer) => places(pool, peer as PeerName, url, shape, tolerance),
          ["failures", "fifoViolations"],
        ),
      };
    }
    return {
      command: commandLine(config, scenarios),
      date: new Date().toISOString(),
      durationS: Math.round((now() - started) / 1000),
      machine: host,
      config,
      limit,
      floor,
      idleFloor,
      uncontended: want(1) ? uncontendedPeers : undefined,
      work,
      empty,
      waiters,
      resources,
      crash: crashes,
      places: placesRun,
    };
  } finally {
    clearTimeout(deadline);
    redis.disconnect();
  }
}

/** The command that makes a run like this one. */
function commandLine(
  config: BenchConfig,
  scenarios: readonly number[],
): string {
  const quick = config.mode === "quick" ? " --quick" : "";
  const some = scenarios.length < SCENARIOS.length
    ? ` --scenarios ${scenarios.join(",")}`
    : "";
  return `deno task bench${quick}${some}`;
}

/** The scenario numbers in `list` ("2,3"); all of them when undefined. */
function parseScenarios(list: string | undefined): number[] {
  if (list === undefined) return [...SCENARIOS];
  const numbers = list.split(",").map((item) => Number(item.trim()));
  if (numbers.some((n) => !SCENARIOS.includes(n))) {
    throw new RangeError(
      `--scenarios must list scenario numbers from 1 to 7, comma-separated: got ${
        JSON.stringify(list)
      }`,
    );
  }
  return SCENARIOS.filter((n) => numbers.includes(n));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      // Only these scenarios, e.g. "2,3"; the yardsticks always run.
      scenarios: { type: "string" },
      // Writes a CPU profile of every worker process into this directory.
      "cpu-prof-dir": { type: "string" },
    },
  });
  let scenarios: number[];
  try {
    scenarios = parseScenarios(values.scenarios);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    Deno.exit(2);
  }
  const config = values.quick ? QUICK : FULL;
  const profiles = values["cpu-prof-dir"];
  const workerFlags = profiles
    ? ["--cpu-prof", `--cpu-prof-dir=${profiles}`]
    : [];
  const results = await run({ config, scenarios, workerFlags });
  const markdown = renderMarkdown(results);
  console.log(markdown);
  // Only a run of every scenario is kept: it is what BENCHMARKS.md quotes.
  if (scenarios.length < SCENARIOS.length) Deno.exit(0);
  const dir = new URL("./results/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  const file = new URL(`${config.mode}.json`, dir);
  await Deno.writeTextFile(file, JSON.stringify(results, null, 2) + "\n");
  log(`wrote ${file.pathname} in ${results.durationS} s`);
}
