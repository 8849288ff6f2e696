/**
 * `turn dashboard`: serve the live web dashboard until Ctrl-C.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { CliError, ExitCode, UsageError } from "../errors.ts";
import { aborted, interruption } from "../signals.ts";
import { printLines } from "../output.ts";
import { Dashboard } from "../../dashboard/handler.ts";
import { serve } from "../../dashboard/serve.ts";
import { isPort, MAX_PORT, numberFromDigits } from "../../validate.ts";

const DEFAULT_PORT = 7117;
const DEFAULT_HOST = "127.0.0.1";
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/;

/**
 * The `dashboard` command. Its `--host` and `--port` are where the dashboard
 * listens; Redis is then named by `--url`, `--cluster`, `--sentinels` or the
 * environment.
 *
 * @example Usage
 * ```ts
 * import { dashboardCommand } from "./dashboard.ts";
 * console.log(dashboardCommand.usage);
 * ```
 */
export const dashboardCommand: Command = {
  name: "dashboard",
  summary: "Serve a live web dashboard and /metrics",
  usage: "dashboard [--port PORT] [--host HOST] [--allow-reset]",
  description:
    `Serves a live view of every queue in a browser: holders, waiters in order with their times, dead heads, a
health verdict per queue (ok, slow, stuck) and the last hour's history; Prometheus metrics at /metrics.
Read-only unless --allow-reset. Runs until Ctrl-C, SIGTERM or SIGHUP (exit code 0).
Here --host and --port are where the dashboard listens (default 127.0.0.1:7117): name Redis with --url,
--cluster, --sentinels, or TURN_URL / TURN_REDIS_URL / REDIS_URL. The dashboard has no login: keep it on
127.0.0.1, or put it behind a proxy that asks for one.`,
  flags: {
    port: {
      type: "string",
      value: "PORT",
      description:
        `Port the dashboard listens on (default ${DEFAULT_PORT}; 0: any free port), e.g. --port 8080`,
    },
    host: {
      type: "string",
      value: "HOST",
      description:
        `Address the dashboard listens on (default ${DEFAULT_HOST}, this machine only), e.g. --host 0.0.0.0`,
    },
    "allow-reset": {
      type: "boolean",
      description:
        "Show a reset button on each queue: asks first, then does what turn reset does",
    },
  },
  examples: [
    ["turn dashboard", "serve http://127.0.0.1:7117/ for the default Redis"],
    [
      "turn dashboard --url file:///var/lock/turn --port 8080",
      "the file backend's queues",
    ],
    [
      "turn dashboard --url redis://cache:6379/2 --allow-reset",
      "with reset buttons",
    ],
  ],
  prepare(args) {
    const port = listenPort(args.strings.port);
    const host = args.strings.host ?? DEFAULT_HOST;
    if (host === "") {
      throw new UsageError(`--host must name an address: got ""`);
    }
    const allowReset = args.switches.has("allow-reset");
    if (args.names.length > 0) {
      throw new UsageError(
        `dashboard shows every resource and takes no names: got "${
          args.names[0]
        }"`,
      );
    }
    return async (locker) => {
      using interrupt = interruption();
      await using dashboard = new Dashboard(locker, { allowReset });
      await using server = await listen(dashboard, host, port);
      printLines(
        `turn dashboard: ${server.url} (${
          allowReset ? "reset enabled" : "read-only"
        }; metrics at ${server.url}metrics; Ctrl-C stops it)`,
      );
      if (!LOOPBACK.test(host)) {
        console.error(
          `turn: warning: the dashboard has no login; anyone who reaches ${host}:${port} sees every queue's names and labels`,
        );
      }
      await aborted(interrupt.signal);
      return ExitCode.Ok;
    };
  },
};

/**
 * A dashboard that listens on this machine only serves requests addressed to
 * this machine: a page on another site whose name was made to resolve to
 * 127.0.0.1 (DNS rebinding) sends its own host name and is refused.
 */
function loopbackOnly(
  fetch: (request: Request) => Promise<Response>,
): (request: Request) => Promise<Response> {
  return (request) => {
    const named = request.headers.get("host") ?? "";
    const hostname = named.replace(/:\d+$/, "");
    if (LOOPBACK.test(hostname)) return fetch(request);
    return Promise.resolve(
      new Response(
        `this dashboard listens on this machine only, so the Host must be localhost, 127.0.0.1 or [::1]: got ${
          JSON.stringify(named)
        }\n`,
        { status: 421, headers: { "content-type": "text/plain" } },
      ),
    );
  };
}

function listenPort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PORT;
  const port = numberFromDigits(text, String(MAX_PORT).length);
  if (isPort(port, true)) return port;
  throw new UsageError(
    `--port must be a whole number from 0 to ${MAX_PORT}: got "${text}"`,
  );
}

async function listen(dashboard: Dashboard, host: string, port: number) {
  const handler = LOOPBACK.test(host)
    ? loopbackOnly(dashboard.fetch)
    : dashboard.fetch;
  try {
    return await serve(handler, host, port);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = code === "EADDRINUSE"
      ? "the address is in use (choose another with --port)"
      : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
      ? "no such address on this machine"
      : code === "EACCES"
      ? "permission denied (ports below 1024 need privileges)"
      : String((error as Error).message ?? error);
    throw new CliError(
      `cannot listen on ${host}:${port}: ${why}`,
      ExitCode.Failure,
    );
  }
}
