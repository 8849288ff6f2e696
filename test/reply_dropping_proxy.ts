/**
 * A TCP proxy in front of a redis-server that can lose one reply: it lets
 * Redis run a chosen command, then drops the reply and the client's
 * connection, as a network fault between the two would. A client that
 * resends unanswered commands after reconnecting (ioredis does by default)
 * then runs that command a second time.
 *
 * @module
 */

import { deferred } from "../src/deferred.ts";

/** One client connection and its connection to Redis. */
interface Pair {
  readonly client: Deno.Conn;
  readonly server: Deno.Conn;
  /** The marked command went through here: its reply is to be dropped. */
  victim: boolean;
}

/** A proxy on a free local port; see the module doc. */
export class ReplyDroppingProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #target: number;
  readonly #pairs = new Set<Pair>();
  readonly #accepting: Promise<void>;
  #marker: string | undefined;
  #dropped = deferred<void>();
  #resumed: Promise<void> = Promise.resolve();
  #resume: () => void = () => {};

  /** Listens on a free port of 127.0.0.1, forwarding to `targetPort`. */
  constructor(targetPort: number) {
    this.#target = targetPort;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** A `redis://` URL that goes through the proxy. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Arms the proxy: the next command whose bytes contain `marker` is passed
   * to Redis, and its reply is dropped along with the client's connection.
   * From then on, new connections wait (connected, but nothing passes)
   * until `resume()`, so the test decides what happens in between. Resolves
   * once the reply was dropped, which proves Redis ran the command.
   */
  dropReplyTo(marker: string): Promise<void> {
    this.#marker = marker;
    this.#dropped = deferred<void>();
    return this.#dropped.promise;
  }

  /** Lets connections made since the drop through. */
  resume(): void {
    this.#resume();
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      void this.#open(client);
    }
  }

  async #open(client: Deno.Conn): Promise<void> {
    await this.#resumed;
    let server: Deno.Conn;
    try {
      server = await Deno.connect({
        hostname: "127.0.0.1",
        port: this.#target,
      });
    } catch {
      client.close();
      return;
    }
    const pair: Pair = { client, server, victim: false };
    this.#pairs.add(pair);
    await Promise.allSettled([this.#up(pair), this.#down(pair)]);
    this.#close(pair);
  }

  /** Client to Redis: marks the pair whose command carries the marker. */
  async #up(pair: Pair): Promise<void> {
    const writer = pair.server.writable.getWriter();
    const decoder = new TextDecoder("latin1");
    for await (const chunk of pair.client.readable) {
      const marker = this.#marker;
      if (marker !== undefined && decoder.decode(chunk).includes(marker)) {
        this.#marker = undefined;
        pair.victim = true;
      }
      await writer.write(chunk);
    }
  }

  /** Redis to client: the victim's reply is dropped with its connection. */
  async #down(pair: Pair): Promise<void> {
    const writer = pair.client.writable.getWriter();
    for await (const chunk of pair.server.readable) {
      if (pair.victim) {
        const resumed = deferred<void>();
        this.#resumed = resumed.promise;
        this.#resume = () => resumed.resolve();
        this.#close(pair);
        this.#dropped.resolve();
        return;
      }
      await writer.write(chunk);
    }
  }

  #close(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    for (const conn of [pair.client, pair.server]) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  /** Closes every connection and stops listening. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#resume();
    this.#listener.close();
    for (const pair of [...this.#pairs]) this.#close(pair);
    await this.#accepting.catch(() => {});
  }
}
