/**
 * The dashboard as a fetch handler, `(Request) => Promise<Response>`, to
 * serve on its own or mount under a path prefix in any server that speaks
 * the Fetch API (Deno.serve, Hono, Bun) or, through `nodeListener`, Node's
 * http module, Express and NestJS.
 *
 * @module
 */

import type { Locker } from "../locker.ts";
import { checkDuration, checkResource } from "../validate.ts";
import { TurnError } from "../errors.ts";
import { describeRule, healthRule } from "./health.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { Observer } from "./observer.ts";
import { FAVICON_SVG, PAGE_CSS, PAGE_HTML } from "./page.ts";
import { PAGE_SCRIPT } from "./script.ts";
import { Broadcast, sseMessage } from "./sse.ts";
import type { ResourceView } from "./track.ts";

/**
 * Options of a {@linkcode Dashboard}.
 *
 * @example
 * ```ts
 * import type { DashboardOptions } from "./handler.ts";
 * const options: DashboardOptions = { prefix: "/turn", stuckAfter: 120_000 };
 * ```
 */
export interface DashboardOptions {
  /**
   * The path the dashboard is mounted under, e.g. `/turn` (pages then live
   * at `/turn/`, `/turn/metrics`, ...). Default: the root.
   */
  readonly prefix?: string;
  /**
   * Show a reset button on each queue, which asks for confirmation and then
   * does what `turn reset` does for that resource. Default `false`: the
   * dashboard only reads.
   */
  readonly allowReset?: boolean;
  /** A queue is slow when someone waits and the turn has not moved for this long, in ms. Default 10 000. */
  readonly slowAfter?: number;
  /** A queue is stuck when someone waits and the turn has not moved for this long, in ms. Default 60 000. */
  readonly stuckAfter?: number;
  /** Least time between full reads of every queue, in ms. Default 1 000. */
  readonly refreshInterval?: number;
}

const DEFAULT_REFRESH_MS = 1_000;
/** Changes are sent to pages at most this often. */
const SEND_EVERY_MS = 250;
/** The history (and a sign of life) is sent this often. */
const HISTORY_EVERY_MS = 2_000;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
};

type Route = (request: Request) => Response | Promise<Response>;

/**
 * A live view of every queue a Locker can see, as a fetch handler: the page
 * at `/`, its updates as Server-Sent Events at `/api/events`, a JSON snapshot
 * at `/api/state` and Prometheus metrics at `/metrics`. It starts watching
 * when created and stops on `close()`; the Locker stays the caller's.
 *
 * @example Serving it with Deno.serve
 * ```ts ignore
 * import { Locker } from "@turn/turn";
 * import { Dashboard } from "@turn/turn/dashboard";
 * await using locker = new Locker();
 * await using dashboard = new Dashboard(locker);
 * Deno.serve({ hostname: "127.0.0.1", port: 7117 }, dashboard.fetch);
 * ```
 *
 * @example Answering a request
 * ```ts
 * import { Locker } from "../../mod.ts";
 * import { Dashboard } from "./handler.ts";
 * await using locker = new Locker({ url: `file://${await Deno.makeTempDir()}` });
 * await using dashboard = new Dashboard(locker, { prefix: "/turn" });
 * const response = await dashboard.fetch(new Request("http://localhost/turn/metrics"));
 * console.log(response.status); // 200
 * ```
 */
export class Dashboard implements AsyncDisposable {
  /** Answers one request; bound, so it can be passed around on its own. */
  readonly fetch: (request: Request) => Promise<Response>;
  readonly #locker: Locker;
  readonly #prefix: string;
  readonly #allowReset: boolean;
  readonly #observer: Observer;
  readonly #broadcast = new Broadcast();
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #pending = new Map<string, ResourceView | null>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #unsubscribe: () => void;
  #lastHistory = 0;
  #lastError: string | undefined;

  /** Starts watching the queues of `locker`. */
  constructor(locker: Locker, options: DashboardOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`options must be an object: got ${options}`);
    }
    this.#prefix = checkPrefix(options.prefix ?? "");
    this.#allowReset = options.allowReset === true;
    const rule = healthRule(options);
    const refreshInterval = options.refreshInterval === undefined
      ? DEFAULT_REFRESH_MS
      : checkDuration("refreshInterval", options.refreshInterval, 100);
    this.#locker = locker;
    this.#observer = new Observer(locker, { rule, refreshInterval });
    this.#unsubscribe = this.#observer.subscribe((changed, gone) => {
      for (const view of changed) this.#pending.set(view.resource, view);
      for (const name of gone) this.#pending.set(name, null);
    });
    this.#timer = setInterval(() => this.#send(), SEND_EVERY_MS);
    this.#routes = new Map<string, Route>([
      ["GET /", () => text(PAGE_HTML, "text/html; charset=utf-8")],
      [
        "GET /dashboard.js",
        () => text(PAGE_SCRIPT, "text/javascript; charset=utf-8"),
      ],
      ["GET /dashboard.css", () => text(PAGE_CSS, "text/css; charset=utf-8")],
      ["GET /favicon.svg", () => text(FAVICON_SVG, "image/svg+xml")],
      ["GET /api/state", () => this.#state()],
      ["GET /api/events", () => this.#events()],
      ["GET /metrics", () => this.#metrics()],
      ["POST /api/reset", (request) => this.#reset(request)],
    ]);
    this.fetch = (request) => this.#handle(request);
  }

  /**
   * Settles once the dashboard follows every queue's events and has read
   * the queues once (or failed to; the page then says why).
   */
  get ready(): Promise<void> {
    return this.#observer.ready;
  }

  /** Stops watching and ends every open event stream. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#unsubscribe();
    this.#broadcast.close();
    await this.#observer.close();
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === this.#prefix && this.#prefix !== "") {
      // The page's links are relative: it must be seen as a folder.
      return secured(
        new Response(null, {
          status: 308,
          headers: { location: `${this.#prefix}/${url.search}` },
        }),
      );
    }
    if (!url.pathname.startsWith(`${this.#prefix}/`)) {
      return secured(problem(404, "not found"));
    }
    const path = url.pathname.slice(this.#prefix.length);
    const method = request.method === "HEAD" ? "GET" : request.method;
    const route = this.#routes.get(`${method} ${path}`);
    if (route === undefined) {
      const known = [...this.#routes.keys()].some((key) =>
        key.endsWith(` ${path}`)
      );
      return secured(
        known ? problem(405, "method not allowed") : problem(404, "not found"),
      );
    }
    return secured(await route(request));
  }

  #snapshot(): unknown {
    const now = Date.now();
    return {
      now,
      rule: describeRule(this.#observer.rule),
      allowReset: this.#allowReset,
      error: this.#observer.error ?? null,
      changed: this.#observer.views(),
      gone: [],
      history: this.#observer.history.view(now),
    };
  }

  async #state(): Promise<Response> {
    await this.#observer.ready;
    return json(this.#snapshot());
  }

  async #events(): Promise<Response> {
    await this.#observer.ready;
    return this.#broadcast.open(() => sseMessage("snapshot", this.#snapshot()));
  }

  #metrics(): Response {
    const observer = this.#observer;
    const page = renderMetrics(
      observer.views(),
      observer.history,
      Date.now(),
      observer.error === undefined,
    );
    return text(page, METRICS_CONTENT_TYPE);
  }

  async #reset(request: Request): Promise<Response> {
    if (!this.#allowReset) {
      return problem(
        403,
        "reset is off: start the dashboard with --allow-reset (allowReset: true) to enable it",
      );
    }
    const refusal = crossSiteRefusal(request);
    if (refusal !== undefined) return problem(403, refusal);
    let resource: string;
    try {
      const body = await request.json() as { resource?: unknown } | null;
      resource = checkResource(body?.resource);
    } catch (error) {
      const why = error instanceof RangeError || error instanceof TypeError
        ? error.message
        : "the body must be JSON";
      return problem(400, `reset needs {"resource": "<name>"}: ${why}`);
    }
    try {
      return json({ results: await this.#locker.reset([resource]) });
    } catch (error) {
      // Only turn's own messages are shown: they never include a password.
      const why = error instanceof TurnError
        ? error.message
        : "the queues cannot be reached";
      return problem(503, `reset failed: ${why}`);
    }
  }

  /** Sends pending changes, and the history every so often. */
  #send(): void {
    const now = Date.now();
    const error = this.#observer.error ?? null;
    const historyDue = now - this.#lastHistory >= HISTORY_EVERY_MS;
    const errorChanged = error !== (this.#lastError ?? null);
    if (this.#pending.size === 0 && !historyDue && !errorChanged) return;
    const changed: ResourceView[] = [];
    const gone: string[] = [];
    for (const [name, view] of this.#pending) {
      if (view === null) gone.push(name);
      else changed.push(view);
    }
    this.#pending.clear();
    this.#lastError = error ?? undefined;
    if (historyDue) this.#lastHistory = now;
    if (this.#broadcast.size === 0) return;
    this.#broadcast.send(sseMessage("update", {
      now,
      error,
      changed,
      gone,
      ...(historyDue ? { history: this.#observer.history.view(now) } : {}),
    }));
  }
}

/** Checks a mount prefix: empty, or `/` and segments, without a trailing `/`. */
function checkPrefix(prefix: unknown): string {
  if (
    typeof prefix !== "string" ||
    (prefix !== "" && !/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(prefix))
  ) {
    throw new TypeError(
      `prefix must be "" or a path like "/turn" (no trailing slash): got ${
        JSON.stringify(prefix)
      }`,
    );
  }
  return prefix;
}

/**
 * Why a state-changing request may come from another site, if it may: it
 * must say it is JSON (which a plain form cannot, and which makes a browser
 * ask first across sites) and come from this page's own origin.
 */
function crossSiteRefusal(request: Request): string | undefined {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    return `reset must be sent as application/json: got ${
      JSON.stringify(type)
    }`;
  }
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin") {
    return `reset must come from the dashboard's own page: got a ${site} request`;
  }
  const origin = request.headers.get("origin");
  const own = new URL(request.url).origin;
  if (origin !== own) {
    return `reset must come from the dashboard's own origin ${own}: got ${
      origin ?? "no origin"
    }`;
  }
  return undefined;
}

function secured(response: Response): Response {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    response.headers.set(name, value);
  }
  return response;
}

function text(body: string, type: string): Response {
  return new Response(body, {
    headers: { "content-type": type, "cache-control": "no-cache" },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}

function problem(status: number, error: string): Response {
  return json({ error }, status);
}
