// The dashboard from the npm package under Node: mounted under /turn in a
// plain node:http server through nodeListener (as Express or NestJS would
// mount it), and served by `turn dashboard` from the package's bin.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { Locker } from "@turn/turn";
import { Dashboard, nodeListener } from "@turn/turn/dashboard";
import { startRedis } from "./redis.js";
import { PROJECT, waitFor } from "./helpers.js";

interface View {
  readonly resource: string;
  readonly holder: { readonly label: string } | null;
  readonly waiters: readonly { readonly label: string }[];
}

async function views(base: string): Promise<View[]> {
  const response = await fetch(`${base}api/state`);
  assert.equal(response.status, 200);
  return (await response.json() as { changed: View[] }).changed;
}

test("the dashboard mounted under /turn in node:http shows holder and waiter, streams and scrapes", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  await using dashboard = new Dashboard(locker, { prefix: "/turn" });
  const listener = nodeListener(dashboard.fetch);
  const http = createServer((request, response) => {
    if (request.url?.startsWith("/turn")) return listener(request, response);
    response.writeHead(200).end("the app");
  }).listen(0, "127.0.0.1");
  await once(http, "listening");
  try {
    const { port } = http.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;
    const redirect = await fetch(`${origin}/turn`, { redirect: "manual" });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get("location"), "/turn/");
    assert.equal(await (await fetch(`${origin}/`)).text(), "the app");

    const events = await fetch(`${origin}/turn/api/events`);
    const reader = events.body!.pipeThrough(new TextDecoderStream())
      .getReader();
    let streamed = "";
    const held = await locker.lock("press", { label: "day shift" });
    const waiting = locker.lock("press", { label: "night shift" });
    await waitFor(async () => {
      const press = (await views(`${origin}/turn/`)).find((v) =>
        v.resource === "press"
      );
      return press?.holder?.label === "day shift" &&
        press.waiters.map((w) => w.label).join() === "night shift";
    }, "the dashboard to show the holder and the waiter");
    await waitFor(async () => {
      streamed += (await reader.read()).value ?? "";
      return /"label":"night shift"/.test(streamed);
    }, "the event stream to carry the waiter");
    await reader.cancel();

    const metrics = await (await fetch(`${origin}/turn/metrics`)).text();
    assert.match(metrics, /^turn_waiters\{resource="press"\} 1$/m);
    await held.release();
    await (await waiting).release();
  } finally {
    http.closeAllConnections();
    http.close();
  }
});

test("turn dashboard from the package serves under Node and stops on SIGTERM", async () => {
  await using server = await startRedis();
  await using locker = new Locker({ url: server.url });
  const child = spawn(
    `${PROJECT}node_modules/.bin/turn`,
    ["dashboard", "--port", "0", "--url", server.url],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = once(child, "exit");
  let stdout = "";
  child.stdout.on("data", (chunk) => stdout += chunk);
  try {
    await waitFor(
      () => Promise.resolve(/http:\/\/\S+\/ /.test(stdout)),
      "the dashboard to print its address",
    );
    const base = /(http:\/\/\S+\/) /.exec(stdout)![1];
    await using _held = await locker.lock("kiln", { label: "firing" });
    await waitFor(
      async () =>
        (await views(base)).some((v) => v.holder?.label === "firing"),
      "the dashboard to show the holder",
    );
  } finally {
    child.kill("SIGTERM");
  }
  const [code] = await exited;
  assert.equal(code, 0);
});
