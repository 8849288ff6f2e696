/**
 * `deno task bench [--quick]`: runs every scenario against a throwaway
 * redis-server, prints the figures as markdown and writes them as JSON to
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
import { FILE_PEERS, openPeer, type PeerName, REDIS_PEERS } from "./peers.ts";
import { Pool } from "./pool.ts";
import { acrossRounds } from "./stats.ts";
import { renderMarkdown } from "./report.ts";
import type { BenchResults, Machine } from "./results.ts";
import { measureLimit } from "./scenarios/limit.ts";
import { measureFloor } from "./scenarios/floor.ts";
import { uncontended } from "./scenarios/uncontended.ts";
import { contended, type ContendedShape } from "./scenarios/contended.ts";
import { manyWaiters } from "./scenarios/many_waiters.ts";
import { manyResources } from "./scenarios/many_resources.ts";
import { crash } from "./scenarios/crash.ts";

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

/** How to run: sizes, and extra `deno run` flags for the workers. */
interface RunOptions {
  readonly config: BenchConfig;
  readonly workerFlags: readonly string[];
}

async function run({ config, workerFlags }: RunOptions): Promise<BenchResults> {
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
    log("limit and scenario 1 (uncontended), interleaved");
    const { limit, ...uncontendedPeers } = await acrossRounds(
      rounds,
      ["limit", ...REDIS_PEERS, "async-mutex"],
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
    log("cross-process handoff floor");
    const floor = (await acrossRounds(
      rounds,
      ["floor"],
      () => measureFloor(redis, pool.workers[0], url, config.floorMessages),
    )).floor;
    // The file locks (turn's file backend, proper-lockfile) share a directory.
    const lockDir = await Deno.makeTempDir({ prefix: "turn-bench-" });
    const fileUrl = `file://${lockDir}`;
    const urlOf = (peer: string) =>
      FILE_PEERS.includes(peer as PeerName) ? fileUrl : url;
    const contendedRun = (title: string, shape: ContendedShape) => {
      log(title);
      return acrossRounds(
        rounds,
        [...REDIS_PEERS, ...FILE_PEERS],
        (peer) =>
          contended(pool, peer as PeerName, urlOf(peer), shape, tolerance),
        COUNTS,
      );
    };
    // Requests closer than a slow round trip cannot be ordered by client clocks.
    const tolerance = limit.p99Ms;
    const work = { ...WORK, cycles: config.workCycles };
    const workPeers = await contendedRun("scenario 2 (real work)", work);
    const empty = { ...EMPTY, cycles: config.emptyCycles };
    const emptyPeers = await contendedRun("scenario 3 (empty section)", empty);
    await Deno.remove(lockDir, { recursive: true });
    log("scenario 4 (many waiters)");
    // A first pass compiles the waiters' code paths in every worker.
    await manyWaiters(pool, redis, url, WAITER_PROCESSES);
    const waiters = await acrossRounds(
      rounds,
      config.waiters.map(String),
      (n) => manyWaiters(pool, redis, url, Number(n)),
    );
    log("scenario 5 (many resources)");
    const resources = await manyResources(
      pool,
      redis,
      url,
      config.resources,
      RESOURCE_TASKS,
    );
    log("scenario 6 (crash recovery)");
    const crashes = await acrossRounds(
      rounds,
      REDIS_PEERS,
      (peer) => crash(pool, peer as PeerName, url, CRASH_WAITERS),
      ["failures"],
    );
    return {
      command: `deno task bench${config.mode === "quick" ? " --quick" : ""}`,
      date: new Date().toISOString(),
      durationS: Math.round((now() - started) / 1000),
      machine: host,
      config,
      limit,
      floor,
      uncontended: uncontendedPeers,
      work: { shape: work, peers: workPeers },
      empty: { shape: empty, peers: emptyPeers },
      waiters,
      resources: {
        ...resources,
        count: config.resources,
        concurrency: RESOURCE_TASKS,
      },
      crash: crashes,
    };
  } finally {
    clearTimeout(deadline);
    redis.disconnect();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      // Writes a CPU profile of every worker process into this directory.
      "cpu-prof-dir": { type: "string" },
    },
  });
  const config = values.quick ? QUICK : FULL;
  const profiles = values["cpu-prof-dir"];
  const workerFlags = profiles
    ? ["--cpu-prof", `--cpu-prof-dir=${profiles}`]
    : [];
  const results = await run({ config, workerFlags });
  const markdown = renderMarkdown(results);
  console.log(markdown);
  const dir = new URL("./results/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  const file = new URL(`${config.mode}.json`, dir);
  await Deno.writeTextFile(file, JSON.stringify(results, null, 2) + "\n");
  log(`wrote ${file.pathname} in ${results.durationS} s`);
}
