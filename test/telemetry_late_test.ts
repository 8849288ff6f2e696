/**
 * With no OpenTelemetry SDK set up, a turn goes straight to the engine; the
 * Locker asks again at every turn, so a meter provider registered later,
 * with no tracer provider at all, still gets the metrics of the turns taken
 * after it. No tracer provider is registered in this module.
 */

import { strictEqual } from "node:assert/strict";
import { metrics } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { instrument } from "../src/telemetry.ts";
import { FileEngine } from "../src/file/engine.ts";

/** Grants counted by `reader`'s exporter. */
async function grants(
  reader: PeriodicExportingMetricReader,
  exported: InMemoryMetricExporter,
): Promise<number> {
  await reader.forceFlush();
  let sum = 0;
  for (const resourceMetrics of exported.getMetrics()) {
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.descriptor.name !== "turn.grants") continue;
        for (const point of metric.dataPoints) sum += point.value as number;
      }
    }
  }
  return sum;
}

Deno.test("telemetry: a meter provider registered after the Locker was made counts the turns after it", async () => {
  const root = await Deno.makeTempDir({ prefix: "turn-late-" });
  const engine = instrument(() => new FileEngine(root));
  const spec = { label: "late", expire: 10_000, patience: 60_000 };
  try {
    await (await engine.acquire("r", spec, {})).release();
    const exported = new InMemoryMetricExporter(AggregationTemporality.DELTA);
    const reader = new PeriodicExportingMetricReader({
      exporter: exported,
      exportIntervalMillis: 3_600_000,
    });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    try {
      await (await engine.acquire("r", spec, {})).release();
      strictEqual(await grants(reader, exported), 1);
    } finally {
      metrics.disable();
      await reader.shutdown();
    }
  } finally {
    await engine.close();
    await Deno.remove(root, { recursive: true });
  }
});
