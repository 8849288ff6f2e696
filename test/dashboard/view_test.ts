/**
 * The dashboard's judgement and bookkeeping, fed statuses and events as the
 * Locker reports them: the health rule, dead heads, times that are only
 * lower bounds, the history's minutes and percentiles, and the metrics page
 * (read by a strict parser and by Prometheus's own promtool).
 */

import {
  deepStrictEqual,
  match,
  ok,
  strictEqual,
  throws,
} from "node:assert/strict";
import {
  DEFAULT_HEALTH_RULE,
  healthRule,
  judge,
} from "../../src/dashboard/health.ts";
import {
  History,
  HISTORY_MINUTES,
  percentile,
} from "../../src/dashboard/history.ts";
import { renderMetrics } from "../../src/dashboard/metrics.ts";
import { Track } from "../../src/dashboard/track.ts";
import { Broadcast, sseMessage } from "../../src/dashboard/sse.ts";
import type { ResourceStatus, TurnEvent } from "../../mod.ts";
import { parsePrometheus } from "../support/prometheus_text.ts";

const T0 = 1_700_000_000_000;

function event(
  resource: string,
  kind: TurnEvent["kind"],
  number: number,
  time: number,
): TurnEvent {
  return {
    resource,
    kind,
    number,
    time,
    message: `${resource}: ${number} ${kind}`,
  };
}

function status(
  resource: string,
  indicator: number,
  dispenser: number,
  users: [number, string, number][],
): ResourceStatus {
  return {
    resource,
    indicator,
    dispenser,
    size: Math.max(0, dispenser - indicator + 1),
    users: users.map(([number, label, ttl]) => ({ number, label, ttl })),
    fence: 0n,
  };
}

Deno.test("health: the rule as stated, and thresholds checked", () => {
  const rule = DEFAULT_HEALTH_RULE;
  const verdict = (waiting: number, unmovedFor: number, deadHead = false) =>
    judge({ waiting, unmovedFor, deadHead }, rule).health;
  strictEqual(verdict(0, 3_600_000), "ok", "nobody waits: ok however long");
  strictEqual(verdict(0, 0, true), "ok", "a dead head nobody waits behind");
  strictEqual(verdict(3, 9_999), "ok");
  strictEqual(verdict(3, 10_000), "slow");
  strictEqual(verdict(1, 0, true), "slow", "waiting behind a dead head");
  strictEqual(verdict(1, 59_999, true), "slow");
  strictEqual(verdict(1, 60_000), "stuck");
  strictEqual(verdict(1, 60_000, true), "stuck");
  throws(() => healthRule({ slowAfter: -5 }), {
    message: "slowAfter must be a positive number of milliseconds: got -5",
  });
  throws(() => healthRule({ slowAfter: 5_000, stuckAfter: 1_000 }), {
    message: "stuckAfter must be at least slowAfter (5000 ms): got 1000",
  });
  deepStrictEqual(healthRule({ slowAfter: 90_000 }), {
    slowAfter: 90_000,
    stuckAfter: 90_000,
  });
});

Deno.test("track: users there before the dashboard are shown as lower bounds; seen ones exactly", () => {
  const history = new History(T0);
  const track = new Track("printer", T0, history);
  track.update(
    status("printer", 4, 5, [[4, "old", 50_000], [5, "old waiter", 50_000]]),
    T0,
  );
  track.observe(event("printer", "assigned", 6, T0 + 1_000));
  track.update(
    status("printer", 4, 6, [[4, "old", 49_000], [5, "old waiter", 49_000], [
      6,
      "new",
      60_000,
    ]]),
    T0 + 1_000,
  );
  const view = track.view(DEFAULT_HEALTH_RULE, T0 + 2_000)!;
  deepStrictEqual(view.holder, {
    number: 4,
    label: "old",
    since: T0,
    atLeast: true,
    ttl: 49_000,
  });
  deepStrictEqual(view.waiters.map((w) => [w.number, w.since, w.atLeast]), [
    [5, T0, true],
    [6, T0 + 1_000, false],
  ]);
  strictEqual(view.movedAtLeast, true);
  strictEqual(view.deadHead, null);
  strictEqual(view.health, "ok");
});

Deno.test("track: a head whose user is gone, and one whose lease runs out unrenewed", () => {
  const history = new History(T0);
  const gone = new Track("a", T0, history);
  gone.update(status("a", 3, 5, [[4, "w1", 60_000], [5, "w2", 60_000]]), T0);
  const goneView = gone.view(DEFAULT_HEALTH_RULE, T0)!;
  strictEqual(goneView.holder, null);
  deepStrictEqual(goneView.deadHead, { number: 3, cause: "gone", skipIn: 0 });
  strictEqual(goneView.health, "slow");

  const idle = new Track("b", T0, history);
  idle.update(status("b", 3, 4, []), T0);
  deepStrictEqual(idle.view(DEFAULT_HEALTH_RULE, T0)!.deadHead, {
    number: 3,
    cause: "gone",
    skipIn: null,
  });

  const unrenewed = new Track("c", T0, history);
  unrenewed.update(status("c", 1, 2, [[1, "h", 60_000], [2, "w", 60_000]]), T0);
  unrenewed.update(
    status("c", 1, 2, [[1, "h", 41_000], [2, "w", 59_000]]),
    T0 + 19_000,
  );
  strictEqual(unrenewed.view(DEFAULT_HEALTH_RULE, T0 + 19_000)!.deadHead, null);
  unrenewed.update(
    status("c", 1, 2, [[1, "h", 25_000], [2, "w", 58_000]]),
    T0 + 35_000,
  );
  const view = unrenewed.view(DEFAULT_HEALTH_RULE, T0 + 35_000)!;
  deepStrictEqual(view.deadHead, {
    number: 1,
    cause: "unrenewed",
    skipIn: 25_000,
  });
  strictEqual(view.health, "slow", "waiting behind a dead head");

  // The file backend's presences have no TTL: never "unrenewed".
  const file = new Track("d", T0, history);
  file.update(status("d", 1, 2, [[1, "h", -1], [2, "w", -1]]), T0);
  strictEqual(file.view(DEFAULT_HEALTH_RULE, T0)!.deadHead, null);
});

Deno.test("track: history learns waits, holds, gaps, crashes, lapses, give-ups and resets from events", () => {
  const history = new History(T0);
  const track = new Track("r", T0, history);
  const feed = (kind: TurnEvent["kind"], n: number, at: number) =>
    track.observe(event("r", kind, n, T0 + at));
  feed("assigned", 1, 0);
  feed("started", 1, 0);
  feed("assigned", 2, 100);
  feed("assigned", 3, 200);
  feed("completed", 1, 1_000);
  feed("granted", 2, 1_000);
  feed("started", 2, 1_010);
  feed("crashed", 2, 1_500);
  feed("granted", 3, 1_500);
  feed("started", 3, 1_520);
  feed("assigned", 4, 1_600);
  feed("left", 4, 1_700);
  // Holder 3 is killed: nothing is said until someone is granted past it.
  feed("assigned", 5, 1_800);
  feed("granted", 5, 9_000);
  feed("started", 5, 9_005);
  feed("assigned", 6, 9_100);
  feed("lapsed", 6, 9_200);
  feed("started", 5, 9_300); // said twice (turn 1.0 and a poll): counted once
  track.observe({
    resource: "r",
    kind: "reset",
    time: T0 + 9_400,
    message: "r: Reset tool bumps.",
  });
  const view = history.view(T0 + 10_000);
  deepStrictEqual(view.counts, {
    grants: 4,
    gaveUp: 1,
    crashes: 1,
    lapses: 2,
    resets: 1,
    bumps: 0,
  });
  deepStrictEqual(view.times.wait.count, 4);
  strictEqual(view.times.wait.p99, 7_205, "5 waited from 1 800 to 9 005");
  strictEqual(view.times.hold.count, 2, "1 and 2 ended; 3 vanished");
  deepStrictEqual([view.times.hold.p50, view.times.hold.p99], [490, 1_000]);
  strictEqual(view.times.gap.count, 3);
  deepStrictEqual([view.times.gap.p50, view.times.gap.p99], [10, 20]);
});

Deno.test("history: an hour of minutes, empty ones included, older ones dropped", () => {
  const history = new History(T0);
  history.count("grants", T0);
  history.time("wait", 100, T0);
  history.depth(4, T0);
  history.count("grants", T0 + 5 * 60_000);
  let view = history.view(T0 + 5 * 60_000);
  strictEqual(view.minutes.length, 6);
  deepStrictEqual(view.minutes.map((m) => m.counts.grants), [1, 0, 0, 0, 0, 1]);
  strictEqual(view.minutes[0].depth, 4);
  strictEqual(view.minutes[0].waitP95, 100);
  view = history.view(T0 + 2 * 3_600_000);
  strictEqual(view.minutes.length, HISTORY_MINUTES);
  strictEqual(view.counts.grants, 0, "nothing from over an hour ago");
  strictEqual(history.totals().grants, 2, "totals keep everything");
  strictEqual(history.histogram("wait").count, 1);
  strictEqual(percentile([], 50), null);
  strictEqual(percentile([5], 99), 5);
  strictEqual(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  strictEqual(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
});

/** Metrics for hostile resource names, with some history. */
function sampleMetrics(): string {
  const history = new History(T0);
  const names = [
    'quote"d',
    "back\\slash",
    "<img src=x onerror=alert(1)>",
    "ünïcødé ✓",
    "plain",
  ];
  const views = names.map((name, i) => {
    const track = new Track(name, T0, history);
    track.observe(event(name, "assigned", 1, T0));
    track.observe(event(name, "started", 1, T0 + i));
    track.observe(event(name, "assigned", 2, T0 + 10));
    track.update(
      status(name, 1, 2, [[1, "h", 60_000], [2, "w", 60_000]]),
      T0 + 20,
    );
    return track.view(DEFAULT_HEALTH_RULE, T0 + 30)!;
  });
  history.time("hold", 2_500, T0 + 30);
  history.time("gap", 0.4, T0 + 30);
  return renderMetrics(views, history, T0 + 1_030, true);
}

Deno.test("metrics: a strict reading finds every family, escaped labels and cumulative buckets", () => {
  const families = parsePrometheus(sampleMetrics());
  const holders = families.get("turn_holders")!;
  strictEqual(holders.type, "gauge");
  deepStrictEqual(
    holders.samples.map((s) => s.labels.resource).sort(),
    [
      "<img src=x onerror=alert(1)>",
      "back\\slash",
      "plain",
      'quote"d',
      "ünïcødé ✓",
    ].sort(),
  );
  const oldest = families.get("turn_oldest_wait_seconds")!.samples[0].value;
  strictEqual(oldest, 1.02);
  strictEqual(families.get("turn_observed_grants_total")!.samples[0].value, 5);
  const wait = families.get("turn_observed_wait_seconds")!;
  strictEqual(wait.type, "histogram");
  strictEqual(wait.samples.find((s) => s.name.endsWith("_count"))!.value, 5);
  const health = families.get("turn_health")!.samples.filter((s) =>
    s.value === 1
  );
  strictEqual(health.length, 5, "one state per resource");
  throws(() => parsePrometheus("x 1"), /newline/);
  throws(() => parsePrometheus('x{a="b\\q"} 1\n'), /bad escape/);
  throws(() => parsePrometheus("# TYPE x counter\nx -1\n"), /below 0/);
});

Deno.test("metrics: Prometheus's promtool accepts the page", async () => {
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(sampleMetrics()));
    await writer.close();
    output = await child.output();
  } catch (error) {
    throw new Error(
      `promtool is needed (Debian's prometheus package; .ci/run installs it): ${error}`,
    );
  }
  const said = new TextDecoder().decode(output.stdout) +
    new TextDecoder().decode(output.stderr);
  strictEqual(output.code, 0, said);
  strictEqual(said.trim(), "", "no lint findings");
});

Deno.test("metrics: a failed read says turn_up 0", () => {
  match(renderMetrics([], new History(T0), T0, false), /^turn_up 0$/m);
  ok(!/resource=/.test(renderMetrics([], new History(T0), T0, true)));
});

Deno.test("sse: a stream the reader cancels is dropped; one far behind is cut off", async () => {
  const broadcast = new Broadcast();
  const gone = broadcast.open(() => sseMessage("snapshot", {}));
  const slow = broadcast.open(() => sseMessage("snapshot", {}));
  strictEqual(broadcast.size, 2);
  await gone.body!.cancel();
  strictEqual(broadcast.size, 1);
  // Nobody reads `slow`: past its backlog it is closed, not buffered forever.
  for (let i = 0; i < 100; i++) broadcast.send(sseMessage("update", { i }));
  strictEqual(broadcast.size, 0);
  const text = await new Response(slow.body).text();
  match(text, /^retry: 2000\n\nevent: snapshot\ndata: \{\}\n\n/);
  ok(text.split("event: update").length - 1 < 100, "it was cut off");
});

Deno.test("track: a queue that empties starts again at 1, and the new turns count as new", () => {
  const history = new History(T0);
  const track = new Track("q", T0, history);
  const feed = (kind: TurnEvent["kind"], n: number, at: number) =>
    track.observe(event("q", kind, n, T0 + at));
  feed("assigned", 1, 0);
  feed("started", 1, 0);
  feed("completed", 1, 100);
  feed("granted", 2, 100); // nobody: the queue's keys are removed
  track.update(undefined, T0 + 200);
  feed("assigned", 1, 60_000);
  feed("started", 1, 60_000);
  feed("completed", 1, 60_300);
  const view = history.view(T0 + 61_000);
  strictEqual(view.counts.grants, 2);
  deepStrictEqual(
    [view.times.hold.count, view.times.hold.p50, view.times.hold.p99],
    [2, 100, 300],
  );
  strictEqual(view.times.gap.count, 0, "nobody waited: no handoff");
});

Deno.test("track: a shared resource's view shows every holder and its places, and no dead head", () => {
  const track = new Track("gpu", T0, new History(T0));
  track.update({
    resource: "gpu",
    indicator: 1,
    dispenser: 3,
    size: 3,
    users: [
      { number: 1, label: "a", ttl: 60_000, kind: "shared", holding: true },
      { number: 2, label: "b", ttl: 60_000, kind: "shared", holding: true },
      { number: 3, label: "c", ttl: 60_000, kind: "shared", holding: false },
    ],
    places: { capacity: 2, holders: 2, placesLeft: 0 },
    fence: 0n,
  }, T0);
  const view = track.view(DEFAULT_HEALTH_RULE, T0 + 1_000)!;
  strictEqual(view.holder?.label, "a");
  deepStrictEqual(view.alsoHolding.map((u) => u.label), ["b"]);
  deepStrictEqual(view.waiters.map((u) => u.label), ["c"]);
  deepStrictEqual(view.places, { capacity: 2, holders: 2, placesLeft: 0 });
  strictEqual(view.deadHead, null);
});
