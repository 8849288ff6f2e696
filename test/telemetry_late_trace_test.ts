/**
 * A tracer provider registered after the Locker's first turns, while only a
 * propagator was registered with the API (so its globals exist, with no
 * provider in them), gets the spans of the turns taken after it.
 */

import { deepStrictEqual } from "node:assert/strict";
import { propagation, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { instrument } from "../src/telemetry.ts";
import { FileEngine } from "../src/file/engine.ts";

Deno.test("telemetry: a tracer provider registered after a propagator and the first turns gets the spans of the turns after it", async () => {
  const root = await Deno.makeTempDir({ prefix: "turn-late-trace-" });
  const engine = instrument(() => new FileEngine(root));
  const spec = { label: "late", expire: 10_000, patience: 60_000 };
  propagation.setGlobalPropagator({
    inject: () => {},
    extract: (context) => context,
    fields: () => [],
  });
  const spans = new InMemorySpanExporter();
  try {
    await (await engine.acquire("r", spec, {})).release();
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({
        spanProcessors: [new SimpleSpanProcessor(spans)],
      }),
    );
    await (await engine.acquire("r", spec, {})).release();
    const names = spans.getFinishedSpans().map((span) => span.name).sort();
    deepStrictEqual(names, ["turn.hold", "turn.wait"]);
  } finally {
    trace.disable();
    propagation.disable();
    await engine.close();
    await Deno.remove(root, { recursive: true });
  }
});
