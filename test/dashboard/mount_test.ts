/**
 * The dashboard mounted under a path prefix the ways docs/DASHBOARD.md shows:
 * in Deno.serve beside other routes, in a Hono app, and in a NestJS app on
 * Express through `nodeListener`. Each serves the page, the live stream and
 * the metrics under /turn and leaves the app's own routes alone.
 */

import { match, strictEqual } from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { Dashboard, nodeListener } from "../../dashboard.ts";
import { Locker } from "../../mod.ts";
import { waitFor } from "../support/helpers.ts";
import { startRedis } from "../../support/redis_server.ts";

/** Checks a dashboard served at `base` (ending in /turn) while a turn is held. */
async function checkMounted(base: string, locker: Locker): Promise<void> {
  const redirect = await fetch(base, { redirect: "manual" });
  strictEqual(redirect.status, 308);
  strictEqual(redirect.headers.get("location"), "/turn/");
  await redirect.body?.cancel();
  const page = await fetch(`${base}/`);
  match(await page.text(), /<title>turn dashboard<\/title>/);
  match(page.headers.get("content-security-policy")!, /script-src 'self'/);
  // Opened first, so the holder can only come as a later message.
  const events = await fetch(`${base}/api/events`);
  const reader = events.body!.pipeThrough(new TextDecoderStream())
    .getReader();
  let text = "";
  await waitFor(async () => {
    text += (await reader.read()).value ?? "";
    return text.includes("event: snapshot");
  }, "the snapshot");
  const lock = await locker.lock("dock", { label: "truck 12" });
  try {
    await waitFor(async () => {
      text += (await reader.read()).value ?? "";
      return /event: update\ndata: .*"label":"truck 12"/.test(text);
    }, "an update to carry the holder");
    await reader.cancel();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    match(metrics, /^turn_holders\{resource="dock"\} 1$/m);
  } finally {
    await lock.release();
  }
}

async function withDashboard(
  body: (dashboard: Dashboard, locker: Locker) => Promise<void>,
): Promise<void> {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using dashboard = new Dashboard(locker, { prefix: "/turn" });
  await dashboard.ready;
  await body(dashboard, locker);
}

Deno.test({
  name: "mounting: Deno.serve, beside the app's own routes",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDashboard(async (dashboard, locker) => {
      await using server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        (request) =>
          new URL(request.url).pathname.startsWith("/turn")
            ? dashboard.fetch(request)
            : new Response("the app"),
      );
      const base = `http://127.0.0.1:${server.addr.port}`;
      strictEqual(await (await fetch(`${base}/`)).text(), "the app");
      await checkMounted(`${base}/turn`, locker);
    }),
});

Deno.test({
  name: "mounting: Hono",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDashboard(async (dashboard, locker) => {
      const app = new Hono();
      app.get("/", (c) => c.text("the app"));
      app.all("/turn", (c) => dashboard.fetch(c.req.raw));
      app.all("/turn/*", (c) => dashboard.fetch(c.req.raw));
      await using server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        app.fetch,
      );
      const base = `http://127.0.0.1:${server.addr.port}`;
      strictEqual(await (await fetch(`${base}/`)).text(), "the app");
      await checkMounted(`${base}/turn`, locker);
    }),
});

@Module({})
class AppModule {}

Deno.test({
  name: "mounting: NestJS on Express, through nodeListener",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withDashboard(async (dashboard, locker) => {
      const app = await NestFactory.create(AppModule, { logger: false });
      app.use("/turn", nodeListener(dashboard.fetch));
      await app.listen(0, "127.0.0.1");
      try {
        const { port } = app.getHttpServer().address() as AddressInfo;
        const base = `http://127.0.0.1:${port}`;
        strictEqual((await fetch(`${base}/elsewhere`)).status, 404);
        await checkMounted(`${base}/turn`, locker);
      } finally {
        app.getHttpServer().closeAllConnections();
        await app.close();
      }
    }),
});
