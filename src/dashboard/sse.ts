/**
 * Server-Sent Events: one stream per open page, each sent the same messages.
 *
 * @module
 */

const encoder = new TextEncoder();
/** A page this many messages behind is cut off; its browser reconnects. */
const MAX_BACKLOG = 64;
/** How long a browser waits before reconnecting, in ms. */
const RETRY_MS = 2_000;

/**
 * One message in the event-stream format. `data` is JSON, which never holds
 * a line break, so it fits on one `data:` line.
 *
 * @example
 * ```ts
 * import { sseMessage } from "./sse.ts";
 * console.log(sseMessage("update", { now: 1 })); // event: update\ndata: {"now":1}\n\n
 * ```
 */
export function sseMessage(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

interface Client {
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
}

/**
 * The open event streams.
 *
 * @example
 * ```ts
 * import { Broadcast } from "./sse.ts";
 * const broadcast = new Broadcast();
 * const response = broadcast.open(() => "event: hello\ndata: {}\n\n");
 * broadcast.send("event: news\ndata: {}\n\n");
 * broadcast.close();
 * await response.body?.cancel();
 * ```
 */
export class Broadcast {
  readonly #clients = new Set<Client>();

  /** How many streams are open. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Opens a stream that starts with `first()` (built once the stream is
   * registered, so nothing sent meanwhile is missed) and ends when the
   * reader cancels it (servers do when the browser goes away) or it falls
   * too far behind.
   */
  open(first: () => string): Response {
    let client: Client | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = { controller };
        this.#clients.add(client);
        controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n\n${first()}`));
      },
      cancel: () => {
        if (client) this.#clients.delete(client);
      },
    }, new CountQueuingStrategy({ highWaterMark: 1 }));
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        // Tells nginx and the like not to buffer the stream.
        "x-accel-buffering": "no",
      },
    });
  }

  /** Sends `text` (one or more messages) to every open stream. */
  send(text: string): void {
    if (this.#clients.size === 0) return;
    const bytes = encoder.encode(text);
    for (const client of this.#clients) {
      if ((client.controller.desiredSize ?? 0) < -MAX_BACKLOG) {
        this.#drop(client);
        continue;
      }
      try {
        client.controller.enqueue(bytes);
      } catch {
        this.#clients.delete(client);
      }
    }
  }

  /** Ends every stream. */
  close(): void {
    for (const client of this.#clients) this.#drop(client);
  }

  #drop(client: Client): void {
    if (!this.#clients.delete(client)) return;
    try {
      client.controller.close();
    } catch {
      // Already closed or errored by the reader.
    }
  }
}
