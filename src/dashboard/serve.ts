/**
 * Serves a fetch handler over HTTP with Node's `http` module, which Deno
 * and Node both provide, so `turn dashboard` runs the same on each.
 *
 * @module
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type FetchHandler, nodeListener } from "./node.ts";

/** A running server. */
export interface Served extends AsyncDisposable {
  /** The address it answers on, e.g. `http://127.0.0.1:7117/`. */
  readonly url: string;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/**
 * Listens on `host`:`port` (port 0: any free one) and answers with
 * `handler`.
 *
 * @example
 * ```ts
 * import { serve } from "./serve.ts";
 * await using server = await serve(() => Promise.resolve(new Response("hi")), "127.0.0.1", 0);
 * console.log(await (await fetch(server.url)).text()); // hi
 * ```
 */
export function serve(
  handler: FetchHandler,
  host: string,
  port: number,
): Promise<Served> {
  const server = createServer(nodeListener(handler));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      const shown = address.family === "IPv6" || address.address.includes(":")
        ? `[${address.address}]`
        : address.address;
      const close = () =>
        new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
      resolve({
        url: `http://${shown}:${address.port}/`,
        close,
        [Symbol.asyncDispose]: close,
      });
    });
  });
}
