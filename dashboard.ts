/**
 * A live web dashboard of every queue, with Prometheus metrics: who holds
 * each resource, who waits in what order and for how long, a health verdict
 * per queue, and the last hour's history. It reads only through a Locker's
 * public API, so it works the same for Redis and the file backend.
 *
 * The {@linkcode Dashboard} is a fetch handler, `(Request) => Promise<Response>`:
 * serve it with `Deno.serve`, mount it in Hono, or adapt it with
 * {@linkcode nodeListener} for Node's `http`, Express or NestJS. The page is
 * plain HTML, CSS and one script shipped inside this module: no CDN, no
 * build step. `turn dashboard` serves it from the command line.
 *
 * @example Serve it on 127.0.0.1:7117
 * ```ts ignore
 * import { Locker } from "@turn/turn";
 * import { Dashboard } from "@turn/turn/dashboard";
 * const locker = new Locker();
 * const dashboard = new Dashboard(locker);
 * Deno.serve({ hostname: "127.0.0.1", port: 7117 }, dashboard.fetch);
 * ```
 *
 * @module
 */

export { Dashboard, type DashboardOptions } from "./src/dashboard/handler.ts";
export {
  type FetchHandler,
  type NodeListener,
  nodeListener,
} from "./src/dashboard/node.ts";
export type { Health } from "./src/dashboard/health.ts";
export type {
  DeadHead,
  ResourceView,
  UserView,
} from "./src/dashboard/track.ts";
