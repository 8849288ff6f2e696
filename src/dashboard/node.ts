/**
 * A fetch handler as a Node `http` request listener, for `http.createServer`,
 * Express (`app.use("/turn", listener)`) and NestJS on Express. Streams the
 * response as it comes, so Server-Sent Events reach the browser at once.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A fetch handler, such as `dashboard.fetch`.
 *
 * @example
 * ```ts
 * import type { FetchHandler } from "./node.ts";
 * const ok: FetchHandler = () => Promise.resolve(new Response("ok"));
 * ```
 */
export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * A Node request listener; it also takes Express's third argument and
 * ignores it, answering every request itself.
 *
 * @example
 * ```ts
 * import type { NodeListener } from "./node.ts";
 * const ok: NodeListener = (_request, response) => void response.end("ok");
 * ```
 */
export type NodeListener = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: unknown,
) => void;

/** Largest request body read, in bytes: the dashboard's bodies are tiny. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Adapts `handler` to Node's `http` module. Express passes the path without
 * its mount point in `url` and the whole path in `originalUrl`; the whole
 * path is what the handler sees, so give the Dashboard the mount point as
 * its `prefix`.
 *
 * @example Mounting the dashboard in Express under /turn
 * ```ts ignore
 * import express from "express";
 * import { Locker } from "@turn/turn";
 * import { Dashboard, nodeListener } from "@turn/turn/dashboard";
 * const dashboard = new Dashboard(new Locker(), { prefix: "/turn" });
 * const app = express();
 * app.use("/turn", nodeListener(dashboard.fetch));
 * app.listen(3000, "127.0.0.1");
 * ```
 */
export function nodeListener(handler: FetchHandler): NodeListener {
  return (request, response) => {
    answer(handler, request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
}

async function answer(
  handler: FetchHandler,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const gone = new AbortController();
  response.on("close", () => gone.abort());
  const reply = await handler(await toRequest(request, gone.signal));
  const headers: Record<string, string> = {};
  reply.headers.forEach((value, name) => headers[name] = value);
  response.writeHead(reply.status, headers);
  if (reply.body === null || request.method === "HEAD") {
    await reply.body?.cancel();
    response.end();
    return;
  }
  const reader = reply.body.getReader();
  gone.signal.addEventListener("abort", () => void reader.cancel(), {
    once: true,
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done || gone.signal.aborted) break;
    response.write(value);
  }
  response.end();
}

async function toRequest(
  request: IncomingMessage,
  signal: AbortSignal,
): Promise<Request> {
  const path = (request as { originalUrl?: string }).originalUrl ??
    request.url ?? "/";
  const secure = (request.socket as { encrypted?: boolean }).encrypted === true;
  const url = new URL(
    path,
    `${secure ? "https" : "http"}://${request.headers.host ?? "localhost"}`,
  );
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name.startsWith(":")) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      headers.append(name, one);
    }
  }
  const method = request.method ?? "GET";
  const body = method === "GET" || method === "HEAD"
    ? undefined
    : await readBody(request);
  return new Request(url, { method, headers, body, signal });
}

async function readBody(request: IncomingMessage): Promise<string> {
  // A body parser that ran first (express.json()) leaves the parsed body.
  const parsed = (request as { body?: unknown }).body;
  if (request.readableEnded && parsed !== undefined) {
    return JSON.stringify(parsed);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
