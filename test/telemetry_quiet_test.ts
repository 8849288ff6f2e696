/**
 * With no OpenTelemetry SDK set up, nothing records, and the Locker's
 * instrumentation must cost the engines nothing: in particular it asks for
 * no queue-place reports the user did not ask for, since the file backend
 * watches the whole queue directory for a waiter that wants them (every
 * handoff would wake its process). No tracer provider is registered in this
 * module, so spans do not record.
 */

import { deepStrictEqual } from "node:assert/strict";
import { instrument } from "../src/telemetry.ts";
import { FileEngine } from "../src/file/engine.ts";
import type { Engine } from "../src/engine.ts";
import type { TicketSpec } from "../src/ticket.ts";
import { waitFor } from "./support/helpers.ts";

/** The file engine under `root`, noting whether each wait wants its place. */
function noting(root: string, wantsPlace: boolean[]): Engine {
  const engine = new FileEngine(root);
  return {
    acquire(resource, spec: TicketSpec, limits) {
      wantsPlace.push(spec.onQueue !== undefined);
      return engine.acquire(resource, spec, limits);
    },
    tryAcquire(resource, spec: TicketSpec, limits) {
      wantsPlace.push(spec.onQueue !== undefined);
      return engine.tryAcquire(resource, spec, limits);
    },
    resources: () => engine.resources(),
    checkNames: (resources) => engine.checkNames(resources),
    status: (resources) => engine.status(resources),
    reset: (resources, forget) => engine.reset(resources, forget),
    follow: (resources, signal) => engine.follow(resources, signal),
    close: () => engine.close(),
  };
}

Deno.test("telemetry: with nothing recording, a wait asks the engine for its place only if the user does", async () => {
  const root = await Deno.makeTempDir({ prefix: "turn-quiet-" });
  const wantsPlace: boolean[] = [];
  const engine = instrument(() => noting(root, wantsPlace));
  try {
    const spec = { label: "quiet", expire: 10_000, patience: 60_000 };
    const holder = await engine.acquire("r", spec, {});
    const places: number[] = [];
    const waiting = engine.acquire(
      "r",
      { ...spec, onQueue: (ahead) => places.push(ahead) },
      {},
    );
    await waitFor(
      async () => (await engine.status(["r"]))[0]?.users.length === 2,
      "the second wait queued",
    );
    await holder.release();
    await (await waiting).release();
    deepStrictEqual(wantsPlace, [false, true]);
    // The user's callback still hears its place.
    deepStrictEqual(places.slice(0, 1), [1]);
  } finally {
    await engine.close();
    await Deno.remove(root, { recursive: true });
  }
});
