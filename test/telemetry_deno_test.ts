/**
 * Zero-config OpenTelemetry on Deno: a process run with `OTEL_DENO=true`
 * exports the Locker's spans and metrics over OTLP (HTTP/JSON here) to a
 * collector, with no SDK set up in code. The collector is a local stand-in
 * that keeps what it is sent.
 */

import { ok, strictEqual } from "node:assert/strict";

interface Received {
  readonly path: string;
  readonly body: string;
}

Deno.test("telemetry: OTEL_DENO=true exports turn.wait, turn.hold and the metrics with no code", async () => {
  const received: Received[] = [];
  await using collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      received.push({
        path: new URL(request.url).pathname,
        body: await request.text(),
      });
      return Response.json({});
    },
  );
  const dir = await Deno.makeTempDir({ prefix: "turn-otel-" });
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-all",
        new URL("./support/fixtures/otel_turn.ts", import.meta.url).pathname,
        dir,
      ],
      env: {
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.addr.port}`,
        OTEL_DENO_CONSOLE: "ignore",
      },
      stdout: "null",
      stderr: "piped",
    }).output();
    strictEqual(code, 0, new TextDecoder().decode(stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // The process flushes before it exits, so all is here by now.
  const traces = received.filter((r) => r.path === "/v1/traces")
    .map((r) => r.body).join("\n");
  const metrics = received.filter((r) => r.path === "/v1/metrics")
    .map((r) => r.body).join("\n");
  for (const name of ['"turn.wait"', '"turn.hold"', '"otel-check"']) {
    ok(traces.includes(name), `the traces carry ${name}`);
  }
  for (
    const name of ["turn.grants", "turn.wait.duration", "turn.hold.duration"]
  ) {
    ok(metrics.includes(`"${name}"`), `the metrics carry ${name}`);
  }
  ok(!metrics.includes('"otel-check"'), "no resource on metrics by default");
});
