/**
 * A small fenced store: it keeps one value and the largest fencing token it
 * accepted, and refuses a write carrying a smaller one. With `fenced: false`
 * it accepts every write, as a store that knows nothing of tokens does.
 *
 * @module
 */

/** A store served over HTTP on a free port of 127.0.0.1. */
export interface Store extends AsyncDisposable {
  readonly url: string;
  /** The value written last and accepted. */
  readonly value: string;
}

/**
 * Serves a store: `POST /?fence=<token>` with the value as body answers 204
 * when accepted, 409 when the token is below the largest accepted.
 *
 * @example
 * ```ts ignore
 * await using store = serveStore(true);
 * await fetch(`${store.url}?fence=7`, { method: "POST", body: "hello" });
 * ```
 */
export function serveStore(fenced: boolean): Store {
  let value = "";
  let accepted = 0n;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const fence = BigInt(new URL(request.url).searchParams.get("fence")!);
      const body = await request.text();
      if (fenced && fence < accepted) {
        return new Response(null, { status: 409 });
      }
      accepted = fence > accepted ? fence : accepted;
      value = body;
      return new Response(null, { status: 204 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    get value() {
      return value;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
