/**
 * Renders a run's figures as markdown: one table per scenario, ratios
 * turn/peer from the same run, and each target marked met or missed.
 *
 * @module
 */

import type { BenchResults, ContendedRun } from "./results.ts";
import type { LoopFigures } from "./loop.ts";
import type { Crash } from "./scenarios/crash.ts";
import type { PlacesRun } from "./results.ts";
import type { Contended } from "./scenarios/contended.ts";
import type { ManyWaiters } from "./scenarios/many_waiters.ts";
import { CRASH_EXPIRE_MS } from "./scenarios/crash.ts";
import { FILE_PEERS, type PeerName } from "./peers.ts";

/** Formats a figure with `digits` decimals; `—` when there is none. */
function f(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "—";
}

function table(header: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
  ].join("\n");
}

function verdict(met: boolean): string {
  return met ? "**met**" : "**MISSED**";
}

function uncontendedSection(
  r: BenchResults,
  uncontended: Record<string, LoopFigures>,
): string {
  const turn = uncontended.turn.perSec;
  const rows = Object.entries(uncontended).map(([peer, u]) => [
    peer,
    f(u.perSec, 0),
    `${f(u.p50Ms, 3)} (${f(u.p50Ms / r.limit.p50Ms, 1)} RTT)`,
    f(u.p99Ms, 3),
    f(u.clientCpuUs, 0),
    f(u.serverCpuUs, 0),
    f(u.perSec / r.limit.perSec),
    f(r.limit.p50Ms / u.p50Ms),
    f(turn / u.perSec),
  ]);
  const ofLimit = turn / r.limit.perSec;
  const ofLimitP50 = r.limit.p50Ms / uncontended.turn.p50Ms;
  const ofRedlock = turn / uncontended.redlock.perSec;
  return [
    "### 1. Uncontended: lock + release in a loop, one process",
    table(
      [
        "lock",
        "cycles/s",
        "p50 ms",
        "p99 ms",
        "client CPU µs/cycle",
        "Redis CPU µs/cycle",
        "of limit (rate)",
        "of limit (p50)",
        "turn/peer",
      ],
      rows,
    ),
    `Target: turn at least 0.45 of limit: by rate ${
      f(ofLimit, 3)
    }, by p50 latency ${f(ofLimitP50, 3)}, ${
      verdict(ofLimit >= 0.45 && ofLimitP50 >= 0.45)
    }; cycles/s turn/redlock at least 1.0: ${f(ofRedlock)}, ${
      verdict(ofRedlock >= 1)
    }.`,
    scriptsNote(uncontended),
  ].filter((part) => part !== "").join("\n\n");
}

/**
 * What the `turn-scripts` row says: how near redlock turn's protocol itself
 * comes, and the Locker's share of turn's cycle.
 */
function scriptsNote(uncontended: Record<string, LoopFigures>): string {
  const scripts = uncontended["turn-scripts"];
  if (!scripts) return "";
  const { turn, redlock } = uncontended;
  return `\`turn-scripts\` is turn's draw and release scripts sent with ioredis and no Locker: they reach ${
    f(scripts.perSec / redlock.perSec)
  } of redlock's rate, and the Locker runs at ${
    f(turn.perSec / scripts.perSec)
  } of theirs (client CPU ${
    f(turn.clientCpuUs - scripts.clientCpuUs, 0)
  } µs a cycle above them).${floorNote(uncontended)}`;
}

/** What the `protocol-floor` row says: the most a turn 1.0 lock could reach. */
function floorNote(uncontended: Record<string, LoopFigures>): string {
  const floor = uncontended["protocol-floor"];
  if (!floor) return "";
  const { turn, redlock } = uncontended;
  return ` \`protocol-floor\` runs only what an atomic cycle of turn 1.0's protocol must (counters, presence, turn 1.0's four messages): it reaches ${
    f(floor.perSec / redlock.perSec)
  } of redlock's rate, and turn ${f(turn.perSec / floor.perSec)} of its.`;
}

function contendedRows(r: BenchResults, peers: Record<string, Contended>) {
  const yardsticks = {
    rtt: r.limit.p50Ms,
    floor: r.floor.handoffP50Ms,
    idleFloor: r.idleFloor?.handoffP50Ms,
  };
  return Object.entries(peers).map(([peer, c]) => {
    // File locks are compared with turn's file backend, Redis locks with turn.
    const turn = FILE_PEERS.includes(peer as PeerName)
      ? peers["turn-file"]
      : peers.turn;
    return contendedRow(peer, c, turn, yardsticks);
  });
}

/** The yardsticks a gap is also given in, in ms (see yardsticks()). */
interface GapUnits {
  readonly rtt: number;
  readonly floor: number;
  readonly idleFloor: number | undefined;
}

function gapIn(gapMs: number, { rtt, floor, idleFloor }: GapUnits): string {
  const idle = idleFloor === undefined
    ? ""
    : `, ${f(gapMs / idleFloor, 1)} idle floor`;
  return `${f(gapMs, 3)} (${f(gapMs / rtt, 1)} RTT, ${
    f(gapMs / floor, 1)
  } floor${idle})`;
}

function contendedRow(
  peer: string,
  c: Contended,
  turn: Contended,
  units: GapUnits,
): string[] {
  return [
    peer,
    f(c.utilisation * 100, 1) + " %",
    f(c.holdP50Ms, 2),
    gapIn(c.gapP50Ms, units),
    f(c.gapP99Ms, 3),
    f(c.waitP50Ms, 1),
    f(c.waitMaxMs, 1),
    String(c.fifoViolations),
    f(c.ticketOrderViolations, 0),
    f(c.jain, 3),
    f(c.cyclesPerSec, 0),
    f(c.handoffsPerSec, 0),
    String(c.failures),
    f(turn.gapP50Ms / c.gapP50Ms),
    f(turn.utilisation / c.utilisation),
    f(turn.handoffsPerSec / c.handoffsPerSec),
  ];
}

const CONTENDED_HEADER = [
  "lock",
  "utilisation",
  "hold p50 ms",
  "gap p50 ms",
  "gap p99 ms",
  "wait p50 ms",
  "wait max ms",
  "FIFO violations",
  "out of ticket order",
  "Jain",
  "cycles/s",
  "handoffs/s",
  "failed",
  "turn/peer gap p50",
  "turn/peer utilisation",
  "turn/peer handoffs/s",
];

function contendedSection(
  r: BenchResults,
  title: string,
  { shape, peers }: ContendedRun,
): string {
  const { processes, cycles, holdMs, workMs } = shape;
  return [
    `### ${title}: ${processes} processes × ${cycles} cycles, hold ${holdMs} ms, work outside ${workMs} ms`,
    table(CONTENDED_HEADER, contendedRows(r, peers)),
    `Grants that began before the previous holder started releasing (mutual exclusion, by clocks): ${
      Object.entries(peers).map(([peer, c]) => `${peer} ${c.overlaps}`)
        .join(", ")
    }.`,
  ].join("\n\n");
}

function workTargets(r: BenchResults, work: ContendedRun): string {
  const turn = work.peers.turn;
  const gapRtts = turn.gapP50Ms / r.limit.p50Ms;
  const gapFloors = turn.gapP50Ms / r.floor.handoffP50Ms;
  const idle = r.idleFloor
    ? ` (${f(turn.gapP50Ms / r.idleFloor.handoffP50Ms, 1)} idle floors)`
    : "";
  return [
    `Targets for turn: utilisation at least 90 %: ${
      f(turn.utilisation * 100, 1)
    } %, ${verdict(turn.utilisation >= 0.9)};`,
    `gap p50 at most 3 round trips: ${f(gapRtts, 1)}, ${
      verdict(gapRtts <= 3)
    };`,
    `gap p50 at most 2 floors: ${f(gapFloors, 1)}${idle}, ${
      verdict(gapFloors <= 2)
    };`,
    `0 FIFO violations, by ticket order (exact): ${turn.ticketOrderViolations}, ${
      verdict(turn.ticketOrderViolations === 0)
    } (by client clocks: ${turn.fifoViolations});`,
    `gap p50 turn/turn1 at most 0.6: ${
      f(ratio(work, "turn", "turn1", "gapP50Ms"))
    }, ${verdict(ratio(work, "turn", "turn1", "gapP50Ms") <= 0.6)};`,
    fileTarget(work, "gapP50Ms", "gap p50", false) + ".",
  ].join(" ");
}

/** `a`'s figure ÷ `b`'s, from one scenario. */
function ratio(
  { peers }: ContendedRun,
  a: PeerName,
  b: PeerName,
  figure: keyof Contended,
): number {
  return peers[a][figure] / peers[b][figure];
}

/** The file backend's target: as good as proper-lockfile by `figure`. */
function fileTarget(
  run: ContendedRun,
  figure: keyof Contended,
  name: string,
  higherIsBetter: boolean,
): string {
  const x = ratio(run, "turn-file", "proper-lockfile", figure);
  const [bound, met] = higherIsBetter
    ? ["at least", x >= 1]
    : ["at most", x <= 1];
  return `${name} turn-file/proper-lockfile ${bound} 1.0: ${f(x)}, ${
    verdict(met)
  }`;
}

function waitersSection(waiters: Record<string, ManyWaiters>): string {
  const entries = Object.entries(waiters);
  const [first, last] = [entries[0], entries.at(-1)!];
  const growth = (figure: keyof ManyWaiters) =>
    last[1][figure] / first[1][figure];
  const woken = Math.max(...entries.map(([, w]) => w.wokenPerHandoff));
  return [
    "### 4. Many waiters on one resource, over 10 processes (turn)",
    table(
      [
        "waiters",
        "commands/handoff",
        "scripts/handoff",
        "client CPU µs/handoff",
        "processes woken/handoff",
        "handoffs/s",
      ],
      entries.map(([n, w]) => [
        n,
        f(w.commandsPerHandoff, 1),
        f(w.scriptsPerHandoff, 2),
        f(w.clientCpuUsPerHandoff, 0),
        f(w.wokenPerHandoff, 2),
        f(w.handoffsPerSec, 0),
      ]),
    ),
    `Targets: commands per handoff flat as waiters grow: ${last[0]} waiters / ${
      first[0]
    } waiters ${f(growth("commandsPerHandoff"))}, ${
      verdict(growth("commandsPerHandoff") <= 1.1)
    }; processes woken per handoff at most 2 at every size: at most ${
      f(woken)
    }, ${verdict(woken <= 2)}; client CPU per handoff flat: ${last[0]} / ${
      first[0]
    } waiters ${f(growth("clientCpuUsPerHandoff"))}, ${
      verdict(growth("clientCpuUsPerHandoff") <= 1.1)
    }.`,
  ].join("\n\n");
}

function resourcesSection(
  s: NonNullable<BenchResults["resources"]>,
): string {
  return [
    `### 5. Many resources: ${s.count} distinct resources, ${s.concurrency} concurrent tasks, one process (turn)`,
    table([
      "total ms",
      "RSS before MiB",
      "peak RSS MiB",
      "keys left",
      "fence keys",
    ], [[
      f(s.totalMs, 0),
      f(s.baseRssMiB, 1),
      f(s.peakRssMiB, 1),
      String(s.keysLeft),
      String(s.fenceKeys ?? 0),
    ]]),
    `Target: 0 keys left but one fence key per resource (kept on purpose): ${s.keysLeft} left, ${
      s.fenceKeys ?? 0
    } fence keys for ${s.count} resources, ${
      verdict(s.keysLeft === 0 && (s.fenceKeys ?? 0) <= s.count)
    }.`,
  ].join("\n\n");
}

function crashSection(crash: Record<string, Crash>): string {
  const turn = crash.turn.recoveryMs;
  return [
    `### 6. Crash recovery: holder SIGKILLed while 2 processes wait, lease ${CRASH_EXPIRE_MS} ms`,
    table(
      ["lock", "kill to next grant ms", "failed", "turn/peer"],
      Object.entries(crash).map(([peer, c]) => [
        peer,
        f(c.recoveryMs, 0),
        String(c.failures),
        f(turn / c.recoveryMs),
      ]),
    ),
    `Target: turn under 2500 ms: ${f(turn, 0)}, ${verdict(turn < 2500)}.`,
  ].join("\n\n");
}

function placesSection(run: PlacesRun): string {
  const { shape, peers } = run;
  const turn = peers.turn;
  return [
    `### 7. Capacity ${shape.capacity}: ${shape.processes} processes, ${shape.cycles} cycles each, hold ${shape.holdMs} ms, work ${shape.workMs} ms`,
    table(
      [
        "lock",
        "utilisation of the places",
        "gap p50 ms",
        "gap p99 ms",
        "worst wait ms",
        "FIFO violations",
        "most holders",
        "failed",
        "turn/peer utilisation",
        "turn/peer worst wait",
      ],
      Object.entries(peers).map(([peer, p]) => [
        peer,
        f(p.utilisation),
        f(p.gapP50Ms, 3),
        f(p.gapP99Ms, 3),
        f(p.waitMaxMs, 1),
        String(p.fifoViolations),
        String(p.maxHolders),
        String(p.failures),
        f(turn.utilisation / p.utilisation),
        f(turn.waitMaxMs / p.waitMaxMs),
      ]),
    ),
  ].join("\n\n");
}

function yardsticks(r: BenchResults): string {
  const { limit, floor, idleFloor } = r;
  const idle = idleFloor
    ? [f(idleFloor.wakeP50Ms, 3), f(idleFloor.handoffP50Ms, 3)]
    : ["—", "—"];
  return [
    "### Yardsticks",
    "`limit`: sequential trivial EVALSHA round trips, one ioredis client. `floor`: a PUBLISH wakes another process, which makes one such round trip, back to back. `idle floor`: the same after both processes were idle for scenario 2's hold.",
    table([
      "limit ops/s",
      "RTT p50 ms",
      "RTT p99 ms",
      "client CPU µs/RTT",
      "Redis CPU µs/RTT",
      "floor: woken p50 ms",
      "floor: + round trip p50 ms",
      "p99 ms",
      "idle floor: woken p50 ms",
      "idle floor: + round trip p50 ms",
    ], [[
      f(limit.perSec, 0),
      f(limit.p50Ms, 3),
      f(limit.p99Ms, 3),
      f(limit.clientCpuUs, 0),
      f(limit.serverCpuUs, 0),
      f(floor.wakeP50Ms, 3),
      f(floor.handoffP50Ms, 3),
      f(floor.handoffP99Ms, 3),
      ...idle,
    ]]),
  ].join("\n\n");
}

/** The whole run as markdown: the scenarios it ran. */
export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const sections = [
    `## \`${r.command}\`, ${r.date}, ${r.durationS} s`,
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, load average ${
      m.loadAverage.join(" ")
    }, Redis ${m.redis}, Deno ${m.deno}. Figures are medians of ${r.config.rounds} round(s); counts are totals.`,
    yardsticks(r),
  ];
  if (r.uncontended) sections.push(uncontendedSection(r, r.uncontended));
  if (r.work) {
    sections.push(
      contendedSection(r, "2. Contended, real work", r.work),
      workTargets(r, r.work),
    );
  }
  if (r.empty) {
    sections.push(
      contendedSection(r, "3. Contended, empty critical section", r.empty),
      `Target: ${fileTarget(r.empty, "handoffsPerSec", "handoffs/s", true)}.`,
    );
  }
  if (r.waiters) sections.push(waitersSection(r.waiters));
  if (r.resources) sections.push(resourcesSection(r.resources));
  if (r.crash) sections.push(crashSection(r.crash));
  if (r.places) sections.push(placesSection(r.places));
  return sections.join("\n\n");
}
