/**
 * OpenTelemetry from the Locker itself, through `@opentelemetry/api`: a
 * no-op unless the application registers an SDK (or runs Deno with
 * `OTEL_DENO=true`, which registers Deno's own). The package is loaded at a
 * Locker's first turn; where it cannot be loaded (a program run without the
 * import map, as `deno task demo` is), turns go untraced.
 *
 * Spans: `turn.wait` (from asking to getting the turn or giving up) and
 * `turn.hold` (from getting the turn to releasing or losing it), with the
 * resource, the number and the queue position. Histograms:
 * `turn.wait.duration` and `turn.hold.duration` (seconds). Counters:
 * `turn.grants`, `turn.timeouts`, `turn.lease_losses`, `turn.crashes`.
 *
 * Resource names are user data of unbounded variety, so metrics carry no
 * resource by default; `metricResource` maps a resource to a bounded label
 * (or to `undefined` to leave it off). Spans always carry the resource.
 *
 * @module
 */

import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  Span,
  Tracer,
} from "@opentelemetry/api";
import type { Engine, WaitLimits } from "./engine.ts";
import type { Follow } from "./follow.ts";
import { Lock, type ReleaseOutcome } from "./lock.ts";
import type { TicketSpec } from "./ticket.ts";
import { LeaseLostError, TimeoutError } from "./errors.ts";
import type { ResetResult, ResourceStatus } from "./types.ts";

/** The instrumentation scope's name. */
export const SCOPE = "@turn/turn";

/**
 * Maps a resource to the `turn.resource` attribute of metrics, or to
 * `undefined` to leave it off. Keep the set of values small: each value is
 * one more time series per instrument.
 *
 * @example Grouping "orders:1234" and "orders:5678" as "orders"
 * ```ts
 * import type { MetricResource } from "./telemetry.ts";
 * const metricResource: MetricResource = (resource) => resource.split(":")[0];
 * ```
 */
export type MetricResource = (resource: string) => string | undefined;

interface Instruments {
  readonly wait: Histogram;
  readonly hold: Histogram;
  readonly grants: Counter;
  readonly timeouts: Counter;
  readonly leaseLosses: Counter;
  readonly crashes: Counter;
}

type Api = typeof import("@opentelemetry/api");

let loading: Promise<Api | undefined> | undefined;
// The API once loaded, so a turn after the first takes no extra tick for it.
let loaded: Api | undefined;

/** The OpenTelemetry API, loaded once; `undefined` where it cannot be. */
function loadApi(): Promise<Api | undefined> {
  return loading ??= import("@opentelemetry/api").then(
    (api) => loaded = api,
    () => undefined,
  );
}

/**
 * Whether anything would receive a span or a metric: a tracer provider
 * behind the API's proxy, or a meter provider that is not the no-op one.
 * Asked at each turn, as an SDK may be registered at any time. Without
 * either, a turn goes straight to the engine: no spans, instruments or
 * wrapped Lock that nothing would read.
 */
function sdkRegistered(api: Api): boolean {
  const tracers = api.trace.getTracerProvider();
  if (!(tracers instanceof api.ProxyTracerProvider)) return true;
  if (tracers.getDelegateTracer(SCOPE) !== undefined) return true;
  const meter = api.metrics.getMeterProvider().getMeter(SCOPE);
  return meter !== api.createNoopMeter();
}

/**
 * Where every copy of the API of major version 1 keeps the providers
 * registered with it (`trace`, `metrics`, ...): the API's own contract
 * between copies, so that one registration serves them all.
 */
const API_GLOBALS = Symbol.for("opentelemetry.js.api.1");

/** What is registered with the API, as `API_GLOBALS` keeps it. */
interface Registered {
  readonly trace?: unknown;
  readonly metrics?: unknown;
}

/**
 * Whether a turn goes straight to the engine, known without waiting: the
 * API is loaded and nothing would receive what a turn reports. With no
 * tracer or meter provider registered at all, the common case, one look
 * tells.
 */
function untraced(): boolean {
  if (loaded === undefined) return false;
  const registered = (globalThis as { [API_GLOBALS]?: Registered })[
    API_GLOBALS
  ];
  if (registered?.trace === undefined && registered?.metrics === undefined) {
    return true;
  }
  return !sdkRegistered(loaded);
}

// One set of instruments per meter provider: an application may register
// its SDK after a Locker was made, and metrics.getMeter() has no proxy.
const instrumentsByProvider = new WeakMap<MeterProvider, Instruments>();

function instruments(api: Api): Instruments {
  const provider = api.metrics.getMeterProvider();
  let found = instrumentsByProvider.get(provider);
  if (found === undefined) {
    found = createInstruments(provider.getMeter(SCOPE));
    instrumentsByProvider.set(provider, found);
  }
  return found;
}

function createInstruments(meter: Meter): Instruments {
  return {
    wait: meter.createHistogram("turn.wait.duration", {
      unit: "s",
      description:
        "Time from asking for a turn to getting it, or to giving up (turn.outcome)",
    }),
    hold: meter.createHistogram("turn.hold.duration", {
      unit: "s",
      description:
        "Time from getting a turn to releasing or losing it (turn.outcome)",
    }),
    grants: meter.createCounter("turn.grants", {
      unit: "{turn}",
      description: "Turns granted",
    }),
    timeouts: meter.createCounter("turn.timeouts", {
      unit: "{wait}",
      description: "Waits that gave up when their timeout ran out",
    }),
    leaseLosses: meter.createCounter("turn.lease_losses", {
      unit: "{turn}",
      description: "Held turns whose lease was lost",
    }),
    crashes: meter.createCounter("turn.crashes", {
      unit: "{turn}",
      description: "Turns released as crashed (the critical section failed)",
    }),
  };
}

function seconds(since: number): number {
  return (performance.now() - since) / 1_000;
}

/** Why a wait ended without the turn, as `turn.outcome`. */
function waitFailure(error: unknown, signal?: AbortSignal): string {
  if (error instanceof TimeoutError) return "timeout";
  if (signal?.aborted && error === signal.reason) return "aborted";
  return "error";
}

/** What a turn reports with. */
interface Telemetry {
  readonly tracer: Tracer;
  readonly attributes: Attributes;
  readonly tools: Instruments;
}

/**
 * The engine with telemetry around each turn. Everything but `acquire` and
 * `tryAcquire` passes straight through.
 */
class InstrumentedEngine implements Engine {
  readonly #engine: Engine;
  readonly #metricResource: MetricResource | undefined;

  constructor(engine: Engine, metricResource: MetricResource | undefined) {
    this.#engine = engine;
    this.#metricResource = metricResource;
  }

  acquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
  ): Promise<Lock> {
    if (untraced()) return this.#engine.acquire(resource, spec, limits);
    const take = (spec: TicketSpec) =>
      this.#engine.acquire(resource, spec, limits);
    return this.#measure(resource, spec, limits, false, take) as Promise<Lock>;
  }

  tryAcquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
  ): Promise<Lock | null> {
    if (untraced()) return this.#engine.tryAcquire(resource, spec, limits);
    const take = (spec: TicketSpec) =>
      this.#engine.tryAcquire(resource, spec, limits);
    return this.#measure(resource, spec, limits, true, take);
  }

  /** Takes a turn with `take`, recording the wait and holding the span. */
  async #measure(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
    tryOnly: boolean,
    take: (spec: TicketSpec) => Promise<Lock | null>,
  ): Promise<Lock | null> {
    const api = loaded ?? await loadApi();
    if (api === undefined || !sdkRegistered(api)) return await take(spec);
    const tools = instruments(api);
    const tracer = api.trace.getTracer(SCOPE);
    const attributes = this.#attributes(resource);
    const span = tracer.startSpan("turn.wait", {
      attributes: {
        "turn.resource": resource,
        "turn.label": spec.label,
        "turn.try": tryOnly,
      },
    });
    let position: number | undefined;
    const tell = (ahead: number) => {
      if (position === undefined) {
        position = ahead;
        span.setAttribute("turn.queue.position", ahead);
      }
      span.addEvent("turn.queue", { "turn.ahead": ahead });
      spec.onQueue?.(ahead);
    };
    // Only when someone listens: an engine may wake a waiter at every
    // handoff to report its place (the file backend watches the directory).
    const onQueue = span.isRecording() || spec.onQueue ? tell : undefined;
    const started = performance.now();
    let lock: Lock | null;
    try {
      lock = await take({ ...spec, onQueue });
    } catch (error) {
      const outcome = waitFailure(error, limits.signal);
      if (outcome === "timeout") tools.timeouts.add(1, attributes);
      tools.wait.record(seconds(started), {
        ...attributes,
        "turn.outcome": outcome,
      });
      endSpan(span, outcome, error);
      throw error;
    }
    if (lock === null) {
      endSpan(span, "busy");
      return null;
    }
    tools.grants.add(1, attributes);
    tools.wait.record(seconds(started), {
      ...attributes,
      "turn.outcome": "granted",
    });
    span.setAttribute("turn.number", lock.number);
    if (position === undefined) span.setAttribute("turn.queue.position", 0);
    endSpan(span, "granted");
    return this.#held(lock, span, { tracer, attributes, tools });
  }

  /** A Lock that times and traces the turn, around the engine's own. */
  #held(inner: Lock, waitSpan: Span, telemetry: Telemetry): Lock {
    const { tracer, attributes, tools } = telemetry;
    const span = tracer.startSpan("turn.hold", {
      attributes: {
        "turn.resource": inner.resource,
        "turn.number": inner.number,
        "turn.label": inner.label,
      },
      links: [{ context: waitSpan.spanContext() }],
    });
    const started = performance.now();
    const signal = inner.signal;
    const onLost = () => {
      tools.leaseLosses.add(1, attributes);
      span.addEvent("turn.lease_lost", {
        "exception.message": String((signal.reason as Error)?.message),
      });
    };
    signal.addEventListener("abort", onLost, { once: true });
    const end = async (outcome: ReleaseOutcome) => {
      try {
        await inner.release(outcome);
      } finally {
        signal.removeEventListener("abort", onLost);
        const ended = signal.reason instanceof LeaseLostError
          ? "lost"
          : outcome;
        if (outcome === "crashed") tools.crashes.add(1, attributes);
        tools.hold.record(seconds(started), {
          ...attributes,
          "turn.outcome": ended,
        });
        endSpan(span, ended);
      }
    };
    // Reading the inner lock's signal runs its lease check.
    return new Lock(
      inner.resource,
      inner.number,
      inner.label,
      signal,
      end,
      () => void inner.signal,
      {
        presenceFile: inner.presenceFile,
        validUntil: () => inner.validUntil,
        fence: inner.fence,
      },
    );
  }

  #attributes(resource: string): Attributes {
    const label = this.#metricResource?.(resource);
    return label === undefined ? {} : { "turn.resource": label };
  }

  resources(): Promise<string[]> {
    return this.#engine.resources();
  }

  checkNames(resources: readonly string[]): Promise<void> {
    return this.#engine.checkNames(resources);
  }

  status(resources: readonly string[]): Promise<ResourceStatus[]> {
    return this.#engine.status(resources);
  }

  reset(
    resources: readonly string[],
    forget: boolean,
  ): Promise<ResetResult[]> {
    return this.#engine.reset(resources, forget);
  }

  follow(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow {
    return this.#engine.follow(resources, signal);
  }

  close(): Promise<void> {
    return this.#engine.close();
  }
}

/** `SpanStatusCode.ERROR`, a constant of the API's stable interface. */
const SPAN_STATUS_ERROR = 2;

function endSpan(span: Span, outcome: string, error?: unknown): void {
  span.setAttribute("turn.outcome", outcome);
  const failed = outcome === "timeout" || outcome === "error" ||
    outcome === "lost" || outcome === "crashed";
  if (failed) {
    span.setStatus({
      code: SPAN_STATUS_ERROR,
      message: error instanceof Error ? error.message : outcome,
    });
  }
  span.end();
}

/**
 * The engine `open` makes, with OpenTelemetry spans and metrics around
 * every turn. `metricResource` is checked before anything is opened.
 *
 * @param open Makes the backend.
 * @param metricResource Maps a resource to the metrics' `turn.resource`.
 * @returns An engine that does the same, traced.
 */
export function instrument(
  open: () => Engine,
  metricResource?: MetricResource,
): Engine {
  if (metricResource !== undefined && typeof metricResource !== "function") {
    throw new TypeError(
      `metricResource must be a function: got ${typeof metricResource}`,
    );
  }
  return new InstrumentedEngine(open(), metricResource);
}
