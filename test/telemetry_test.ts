/**
 * OpenTelemetry from the Locker, read with the SDK's in-memory exporters:
 * `turn.wait` and `turn.hold` spans with resource, number and queue
 * position; wait and hold histograms; grant, timeout, lease-loss and crash
 * counters; and metrics without a resource unless `metricResource` maps it.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { metrics, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { leaseLost, lockerTest, untilQueued } from "./support/helpers.ts";
import type { Lock } from "../mod.ts";

const spans = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
);
const exported = new InMemoryMetricExporter(AggregationTemporality.DELTA);
const reader = new PeriodicExportingMetricReader({
  exporter: exported,
  exportIntervalMillis: 3_600_000,
});
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

/** Forgets what earlier tests recorded. */
async function clean(): Promise<void> {
  await reader.forceFlush();
  exported.reset();
  spans.reset();
}

/** Every metric recorded since `clean()`, by name. */
async function collected(): Promise<Map<string, MetricData>> {
  await reader.forceFlush();
  const found = new Map<string, MetricData>();
  for (const resourceMetrics of exported.getMetrics()) {
    for (const scope of resourceMetrics.scopeMetrics) {
      if (scope.scope.name !== "@turn/turn") continue;
      for (const metric of scope.metrics) {
        found.set(metric.descriptor.name, metric);
      }
    }
  }
  return found;
}

/** Sum of a counter's points, or count of a histogram's, by attributes. */
function totals(metric: MetricData | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const point of metric?.dataPoints ?? []) {
    const key = JSON.stringify(point.attributes);
    const value = metric!.dataPointType === DataPointType.HISTOGRAM
      ? (point.value as { count: number }).count
      : point.value as number;
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

function named(name: string): ReadableSpan[] {
  return spans.getFinishedSpans().filter((span) => span.name === name);
}

lockerTest(
  "telemetry: spans and metrics for grants, waits, timeouts, crashes and lease losses",
  async (t) => {
    await clean();
    const first = t.locker();
    // A Locker with a past: it held another resource first.
    await first.withLock("orders:old", () => {});
    const held = await first.lock("orders:1", { label: "first" });
    const second = t.locker();
    const waiting = second.lock("orders:1", { label: "second" });
    waiting.catch(() => {});
    await untilQueued(first, "orders:1", 2);
    const impatient = await t.locker().lock("orders:1", { timeout: 200 })
      .catch((error) => error.name);
    strictEqual(impatient, "TimeoutError");
    await held.release();
    const next = await waiting;
    await next.release("crashed");
    const lease = await first.lock("orders:2", { expire: 300 });
    await t.removePresence("orders:2", lease.number);
    await leaseLost(lease);
    await lease.release();

    const waits = named("turn.wait");
    const byOutcome = (outcome: string) =>
      waits.filter((span) => span.attributes["turn.outcome"] === outcome);
    strictEqual(byOutcome("granted").length, 4);
    const timedOut = byOutcome("timeout");
    strictEqual(timedOut.length, 1);
    strictEqual(timedOut[0].status.code, 2, "an error status");
    const secondWait = byOutcome("granted").find((span) =>
      span.attributes["turn.label"] === "second"
    )!;
    deepStrictEqual(
      [
        secondWait.attributes["turn.resource"],
        secondWait.attributes["turn.number"],
        secondWait.attributes["turn.queue.position"],
      ],
      ["orders:1", next.number, 1],
    );
    strictEqual(
      byOutcome("granted").find((span) =>
        span.attributes["turn.label"] === "first" &&
        span.attributes["turn.resource"] === "orders:1"
      )!.attributes["turn.queue.position"],
      0,
    );

    const holds = named("turn.hold");
    deepStrictEqual(
      holds.map((span) => span.attributes["turn.outcome"]).sort(),
      ["completed", "completed", "crashed", "lost"],
    );
    const secondHold = holds.find((span) =>
      span.attributes["turn.number"] === next.number &&
      span.attributes["turn.resource"] === "orders:1"
    )!;
    deepStrictEqual(secondHold.links.map((link) => link.context.spanId), [
      secondWait.spanContext().spanId,
    ]);

    const found = await collected();
    // No metricResource: no resource on metrics.
    deepStrictEqual(totals(found.get("turn.grants")), { "{}": 4 });
    deepStrictEqual(totals(found.get("turn.timeouts")), { "{}": 1 });
    deepStrictEqual(totals(found.get("turn.crashes")), { "{}": 1 });
    deepStrictEqual(totals(found.get("turn.lease_losses")), { "{}": 1 });
    deepStrictEqual(totals(found.get("turn.wait.duration")), {
      '{"turn.outcome":"granted"}': 4,
      '{"turn.outcome":"timeout"}': 1,
    });
    deepStrictEqual(totals(found.get("turn.hold.duration")), {
      '{"turn.outcome":"completed"}': 2,
      '{"turn.outcome":"crashed"}': 1,
      '{"turn.outcome":"lost"}': 1,
    });
    strictEqual(found.get("turn.wait.duration")!.descriptor.unit, "s");
  },
);

lockerTest(
  "telemetry: metricResource maps resources to a bounded label",
  async (t) => {
    await clean();
    const locker = t.locker({
      metricResource: (resource) =>
        resource.startsWith("tmp-") ? undefined : resource.split(":")[0],
    });
    const locks: Lock[] = [];
    for (const resource of ["orders:1", "orders:2", "users:9", "tmp-42"]) {
      locks.push(await locker.lock(resource));
    }
    ok((await locker.tryLock("orders:1")) === null, "busy: no grant");
    await Promise.all(locks.map((lock) => lock.release()));
    const found = await collected();
    deepStrictEqual(totals(found.get("turn.grants")), {
      '{"turn.resource":"orders"}': 2,
      '{"turn.resource":"users"}': 1,
      "{}": 1,
    });
    const busy = named("turn.wait").filter((span) =>
      span.attributes["turn.outcome"] === "busy"
    );
    strictEqual(busy.length, 1);
    strictEqual(busy[0].attributes["turn.try"], true);
  },
);

lockerTest(
  "telemetry: a bad metricResource is refused before anything opens",
  (t) => {
    let error: unknown;
    try {
      // deno-lint-ignore no-explicit-any
      t.locker({ metricResource: "orders" as any });
    } catch (caught) {
      error = caught;
    }
    strictEqual(
      (error as Error).message,
      "metricResource must be a function: got string",
    );
    return Promise.resolve();
  },
);
