/**
 * The dashboard against real backends: what it shows while users take turns
 * (Redis and the file backend alike), its routes and headers, the reset
 * guard, and the live stream.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { Dashboard } from "../../dashboard.ts";
import type { ResourceView } from "../../src/dashboard/track.ts";
import { serve } from "../../src/dashboard/serve.ts";
import {
  lockerTest,
  redisTest,
  untilQueued,
  waitFor,
  within,
} from "../support/helpers.ts";
import { presenceKey, resourceKeys } from "../../src/redis/keys.ts";
import { parsePrometheus } from "../support/prometheus_text.ts";
import { freePort } from "../../support/redis_server.ts";
import { Locker } from "../../mod.ts";

interface State {
  readonly changed: ResourceView[];
  readonly history: {
    readonly counts: Record<string, number>;
    readonly times: Record<string, { count: number }>;
  };
  readonly error: string | null;
}

async function state(dashboard: Dashboard, prefix = ""): Promise<State> {
  const response = await dashboard.fetch(
    new Request(`http://127.0.0.1${prefix}/api/state`),
  );
  strictEqual(response.status, 200);
  return await response.json();
}

/** `promise`, marked handled: a failing test's pending waits stay quiet. */
function pending<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Waits until the dashboard shows `resource` as `check` wants it. */
async function viewUntil(
  dashboard: Dashboard,
  resource: string,
  check: (view: ResourceView) => boolean,
): Promise<ResourceView> {
  let found: ResourceView | undefined;
  await waitFor(async () => {
    found = (await state(dashboard)).changed.find((v) =>
      v.resource === resource
    );
    return found !== undefined && check(found);
  }, `the dashboard to show ${resource} as wanted`);
  return found!;
}

lockerTest(
  "dashboard: holder, waiters in ticket order, then the next holder, and what history learnt",
  async (t) => {
    await using dashboard = new Dashboard(t.locker(), { refreshInterval: 200 });
    await dashboard.ready;
    const first = t.locker();
    // A user with a past: it held and released another resource first.
    await first.withLock("ledger", () => {});
    const held = await first.lock("printer", { label: "first" });
    const second = t.locker();
    const third = t.locker();
    const waitSecond = pending(second.lock("printer", { label: "second" }));
    await untilQueued(first, "printer", 2);
    const waitThird = pending(third.lock("printer", { label: "third" }));
    await untilQueued(first, "printer", 3);

    const before = await viewUntil(
      dashboard,
      "printer",
      (v) => v.waiters.length === 2,
    );
    strictEqual(before.holder?.label, "first");
    strictEqual(before.holder?.number, held.number);
    deepStrictEqual(before.waiters.map((w) => w.label), ["second", "third"]);
    ok(before.waiters[0].number < before.waiters[1].number);
    strictEqual(before.health, "ok");

    await held.release();
    const next = await waitSecond;
    // Seen to start, so its time is exact, not a lower bound.
    const after = await viewUntil(
      dashboard,
      "printer",
      (v) => v.holder?.label === "second" && !v.holder.atLeast,
    );
    deepStrictEqual(after.waiters.map((w) => w.label), ["third"]);

    // Events may come after the status that shows their effect.
    await waitFor(async () => {
      const { counts, times } = (await state(dashboard)).history;
      return counts.grants >= 3 && times.wait.count >= 1 &&
        times.hold.count >= 2 && times.gap.count >= 1;
    }, "history to count 3 grants, a wait, 2 holds and a handoff");

    const metrics = parsePrometheus(
      await (await dashboard.fetch(
        new Request("http://127.0.0.1/metrics"),
      )).text(),
    );
    const printer = (name: string) =>
      metrics.get(name)?.samples.find((s) => s.labels.resource === "printer")
        ?.value;
    strictEqual(printer("turn_holders"), 1);
    strictEqual(printer("turn_waiters"), 1);
    strictEqual(printer("turn_queue_length"), 2);
    ok(metrics.get("turn_observed_grants_total")!.samples[0].value >= 3);

    await next.release();
    await (await waitThird).release();
    await waitFor(
      async () =>
        !(await state(dashboard)).changed.some((v) => v.resource === "printer"),
      "the idle printer queue to leave the page",
    );
  },
);

lockerTest(
  "dashboard: a waiter that gives up is counted, and a stuck queue is judged stuck",
  async (t) => {
    await using dashboard = new Dashboard(t.locker(), {
      refreshInterval: 200,
      slowAfter: 300,
      stuckAfter: 600,
    });
    await dashboard.ready;
    const holder = await t.locker().lock("scanner", { label: "slowpoke" });
    const waiter = t.locker();
    const gaveUp = waiter.lock("scanner", { label: "impatient", timeout: 300 })
      .then(() => "granted", (error) => error.name);
    strictEqual(await within(gaveUp, 10_000, "the timeout"), "TimeoutError");
    await waitFor(
      async () => (await state(dashboard)).history.counts.gaveUp >= 1,
      "the give-up to be counted",
    );
    const patient = pending(
      t.locker().lock("scanner", { label: "patient" }),
    );
    const stuck = await viewUntil(
      dashboard,
      "scanner",
      (v) => v.health === "stuck",
    );
    match(stuck.reason, /1 waiting, turn unmoved for 0.6 s or more/);
    await holder.release();
    await (await patient).release();
  },
);

lockerTest(
  "dashboard: routes under a prefix, security headers, and nothing outside",
  async (t) => {
    await using dashboard = new Dashboard(t.locker(), { prefix: "/ops/turn" });
    const get = (path: string, init?: RequestInit) =>
      dashboard.fetch(new Request(`http://127.0.0.1${path}`, init));

    const redirect = await get("/ops/turn?x=1");
    strictEqual(redirect.status, 308);
    strictEqual(redirect.headers.get("location"), "/ops/turn/?x=1");

    const page = await get("/ops/turn/");
    strictEqual(page.status, 200);
    match(page.headers.get("content-type")!, /^text\/html/);
    const csp = page.headers.get("content-security-policy")!;
    match(csp, /script-src 'self'/);
    ok(!csp.includes("unsafe-inline"), "no inline script or style allowed");
    strictEqual(page.headers.get("x-content-type-options"), "nosniff");
    const html = await page.text();
    ok(!/<script>/.test(html) && !/ on\w+=/.test(html), "no inline script");
    match(html, /<script src="dashboard.js" defer><\/script>/);

    const script = await get("/ops/turn/dashboard.js");
    match(script.headers.get("content-type")!, /^text\/javascript/);
    const code = await script.text();
    ok(!code.includes("innerHTML"), "the script never writes markup");
    match(code, /textContent/);
    match(
      (await get("/ops/turn/dashboard.css")).headers.get("content-type")!,
      /^text\/css/,
    );

    strictEqual((await get("/ops/turn/nope")).status, 404);
    strictEqual((await get("/other/")).status, 404);
    strictEqual((await get("/ops/turnx/")).status, 404);
    strictEqual(
      (await get("/ops/turn/metrics", { method: "DELETE" })).status,
      405,
    );
    const head = await get("/ops/turn/metrics", { method: "HEAD" });
    strictEqual(head.status, 200);
    await head.body?.cancel();
  },
);

lockerTest(
  "dashboard: reset is off unless allowed, refuses other sites, and does what turn reset does",
  async (t) => {
    const origin = "http://127.0.0.1:7117";
    const post = (dashboard: Dashboard, body: string, headers: HeadersInit) =>
      dashboard.fetch(
        new Request(`${origin}/api/reset`, { method: "POST", body, headers }),
      );
    const same = { "content-type": "application/json", origin };
    {
      await using readOnly = new Dashboard(t.locker());
      const refused = await post(readOnly, '{"resource":"dead"}', same);
      strictEqual(refused.status, 403);
      match((await refused.json()).error, /reset is off/);
    }
    await using dashboard = new Dashboard(t.locker(), { allowReset: true });
    // A queue whose users all died: numbers 1..3, nobody alive.
    await t.setQueue("dead", { indicator: 1, dispenser: 3 });
    const attempts: [HeadersInit, RegExp][] = [
      [{ "content-type": "text/plain", origin }, /application\/json/],
      [{ ...same, origin: "http://evil.example" }, /own origin/],
      [{ "content-type": "application/json" }, /no origin/],
      [{ ...same, "sec-fetch-site": "cross-site" }, /cross-site request/],
    ];
    for (const [headers, why] of attempts) {
      const response = await post(dashboard, '{"resource":"dead"}', headers);
      strictEqual(response.status, 403);
      match((await response.json()).error, why);
    }
    const bad = await post(dashboard, '{"resource":""}', same);
    strictEqual(bad.status, 400);
    match((await bad.json()).error, /resource must not be empty: got ""/);
    deepStrictEqual((await t.locker().status(["dead"])).length, 1, "untouched");

    const done = await post(dashboard, '{"resource":"dead"}', same);
    strictEqual(done.status, 200);
    deepStrictEqual((await done.json()).results, [
      { resource: "dead", outcome: "reset", users: 0 },
    ]);
    deepStrictEqual(await t.locker().status(["dead"]), []);
  },
);

lockerTest(
  "dashboard: the event stream sends a snapshot, then each change",
  async (t) => {
    await using dashboard = new Dashboard(t.locker(), { refreshInterval: 200 });
    await dashboard.ready;
    await using server = await serve(dashboard.fetch, "127.0.0.1", 0);
    const response = await fetch(`${server.url}api/events`);
    match(response.headers.get("content-type")!, /^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    const until = async (wanted: RegExp) => {
      await within(
        (async () => {
          while (!wanted.test(text)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`stream ended; got ${text}`);
            text += value;
          }
        })(),
        10_000,
        `the stream to match ${wanted}`,
      );
    };
    await until(/event: snapshot\ndata: .*\n\n/);
    const lock = await t.locker().lock("kiosk", { label: "<b>bold</b>" });
    await until(/event: update\ndata: .*"resource":"kiosk".*\n\n/);
    match(text, /"label":"<b>bold<\/b>"/);
    await lock.release();
    await reader.cancel();
  },
);

Deno.test("dashboard: an unreachable Redis is reported on the page and in metrics, without the password", async () => {
  const port = freePort();
  await using locker = new Locker({
    url: `redis://:s3cret-pw@127.0.0.1:${port}/0`,
    connectTimeout: 500,
  });
  await using dashboard = new Dashboard(locker, { refreshInterval: 200 });
  const { error } = await state(dashboard);
  ok(error !== null, "an error is shown");
  ok(!error.includes("s3cret-pw"), error);
  match(error, /127\.0\.0\.1/, "it names the server");
  const page = await (await dashboard.fetch(
    new Request("http://127.0.0.1/api/state"),
  )).text();
  ok(!page.includes("s3cret-pw"));
  const metrics = await (await dashboard.fetch(
    new Request("http://127.0.0.1/metrics"),
  )).text();
  match(metrics, /^turn_up 0$/m);
  ok(!metrics.includes("s3cret-pw"));
});

redisTest(
  "dashboard: another client's queue with a name this module refuses is shown, and breaks nothing",
  async (t) => {
    await using dashboard = new Dashboard(t.locker(), { refreshInterval: 200 });
    await dashboard.ready;
    // Control characters are refused by this module, not by turn 1.0's keys.
    const odd = "tab\there";
    const keys = resourceKeys(odd);
    await t.redis.mset(keys.dispenser, 1, keys.indicator, 1);
    await t.redis.set(presenceKey(keys, 1), "python job", "PX", 60_000);
    await t.redis.publish(keys.external, `${odd}: 1 assigned to "python job"`);
    await t.redis.publish(keys.external, `${odd}: 1 started`);
    const lock = await t.locker().lock("plain", { label: "deno job" });
    const view = await viewUntil(dashboard, odd, (v) => v.holder !== null);
    strictEqual(view.holder?.label, "python job");
    await viewUntil(dashboard, "plain", (v) => v.holder?.label === "deno job");
    strictEqual((await state(dashboard)).error, null);
    await lock.release();
  },
);
