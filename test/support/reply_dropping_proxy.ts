/**
 * A TCP proxy in front of a redis-server that can lose one reply: it lets
 * Redis run a chosen command, then drops its reply and the client's
 * connection, as a network fault between the two would. It can also hold
 * that reply back for a while instead, as a slow network would. It counts commands
 * and replies (RESP) on each connection, so the reply dropped is exactly the
 * marked command's, whatever else is in flight; connections in pub/sub mode
 * get pushed messages and must not carry the marker. A client that
 * resends unanswered commands after reconnecting (ioredis does by default)
 * then runs that command a second time.
 *
 * @module
 */

import { deferred } from "../../src/deferred.ts";
import { Locker, type LockerOptions } from "../../mod.ts";
import { SCRIPTS } from "../../src/redis/scripts.ts";
import { type RedisTestContext, within } from "./helpers.ts";

/**
 * Splits a RESP byte stream into whole values (a command, or a reply), so
 * replies can be matched to the commands they answer.
 */
class RespValues {
  #buffer = new Uint8Array(0);

  /** The values completed by `chunk`; a partial one waits for more. */
  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const values: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const end = valueEnd(joined, start);
      if (end < 0) break;
      values.push(joined.slice(start, end));
      start = end;
    }
    this.#buffer = joined.slice(start);
    return values;
  }
}

/** Where the RESP value at `at` ends, or -1 if it is not complete yet. */
function valueEnd(bytes: Uint8Array, at: number): number {
  if (at >= bytes.length) return -1;
  const lineEnd = bytes.indexOf(10, at);
  if (lineEnd < 0) return -1;
  const next = lineEnd + 1;
  const count = Number(new TextDecoder().decode(bytes.slice(at + 1, lineEnd)));
  const type = String.fromCharCode(bytes[at]);
  // Length-prefixed strings: bulk, and RESP3's verbatim string and blob error.
  if ("$=!".includes(type)) {
    if (count < 0) return next;
    return next + count + 2 <= bytes.length ? next + count + 2 : -1;
  }
  // Aggregates: array, set and push; a map holds pairs.
  const items = "*~>".includes(type) ? count : type === "%" ? 2 * count : 0;
  let end = next;
  for (let k = 0; k < items && end >= 0; k++) end = valueEnd(bytes, end);
  return end;
}

/** One client connection and its connection to Redis. */
interface Pair {
  readonly client: Deno.Conn;
  readonly server: Deno.Conn;
  /** Commands sent and replies received so far. */
  sent: number;
  answered: number;
  /** Which command (by count) carried the marker: its reply is dropped. */
  victim: number;
}

/** A proxy on a free local port; see the module doc. */
export class ReplyDroppingProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #target: number;
  readonly #pairs = new Set<Pair>();
  readonly #accepting: Promise<void>;
  #marker: string | undefined;
  #dropped = deferred<void>();
  /** The marked command's reply is held back, not dropped. */
  #holding = false;
  #released = deferred<void>();
  /** Resolved once Redis sent a value containing its text to a client. */
  #awaited: { text: string; seen: () => void }[] = [];
  /** Connections refused since `cut()`; none while not cut. */
  #refused = 0;
  #cut = false;
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
    return this.#mark(marker, false);
  }

  #mark(marker: string, holding: boolean): Promise<void> {
    this.#holding = holding;
    this.#marker = marker;
    this.#dropped = deferred<void>();
    return this.#dropped.promise;
  }

  /**
   * The next command whose bytes contain `marker` is passed to Redis, and
   * its reply (with any later one on that connection) is held back until
   * `resume()`. Resolves once Redis has answered it, which proves it ran.
   */
  holdReplyTo(marker: string): Promise<void> {
    this.#released = deferred<void>();
    return this.#mark(marker, true);
  }

  /**
   * Resolves once Redis sends a client a value (a reply, or a pub/sub
   * message) containing `text`, and the proxy has passed it on.
   */
  passed(text: string): Promise<void> {
    const seen = deferred<void>();
    this.#awaited.push({ text, seen: () => seen.resolve() });
    return seen.promise;
  }

  /**
   * Cuts the network: closes every connection and refuses new ones (each
   * closed at once, counted in `refused`) until `resume()`. Redis keeps its
   * keys; its clients see it away.
   */
  cut(): void {
    this.#cut = true;
    this.#refused = 0;
    for (const pair of [...this.#pairs]) this.#close(pair);
  }

  /** Connections refused since `cut()`. */
  get refused(): number {
    return this.#refused;
  }

  /** Lets connections through again: held since a drop, or after a cut. */
  resume(): void {
    this.#cut = false;
    this.#resume();
    this.#released.resolve();
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      void this.#open(client);
    }
  }

  async #open(client: Deno.Conn): Promise<void> {
    if (this.#cut) {
      this.#refused++;
      return client.close();
    }
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
    const pair: Pair = { client, server, sent: 0, answered: 0, victim: 0 };
    this.#pairs.add(pair);
    // Either side closing closes both: Redis refusing a connection it
    // accepted (too many clients) must reach the client.
    const settled = (work: Promise<void>) => work.catch(() => {});
    await Promise.race([settled(this.#up(pair)), settled(this.#down(pair))]);
    this.#close(pair);
  }

  /** Client to Redis: marks the command that carries the marker. */
  async #up(pair: Pair): Promise<void> {
    const writer = pair.server.writable.getWriter();
    const commands = new RespValues();
    const decoder = new TextDecoder("latin1");
    for await (const chunk of pair.client.readable) {
      for (const command of commands.push(chunk)) {
        pair.sent++;
        const marker = this.#marker;
        if (marker !== undefined && decoder.decode(command).includes(marker)) {
          this.#marker = undefined;
          pair.victim = pair.sent;
        }
      }
      await writer.write(chunk);
    }
  }

  /**
   * Redis to client, reply by reply: the marked command's reply proves it
   * ran, and is dropped with the connection.
   */
  async #down(pair: Pair): Promise<void> {
    const writer = pair.client.writable.getWriter();
    const replies = new RespValues();
    for await (const chunk of pair.server.readable) {
      for (const reply of replies.push(chunk)) {
        pair.answered++;
        if (pair.answered === pair.victim) {
          if (!this.#holding) return this.#drop(pair);
          this.#dropped.resolve();
          await this.#released.promise;
        }
        await writer.write(reply);
        this.#noticePassed(reply);
      }
    }
  }

  #noticePassed(value: Uint8Array): void {
    if (this.#awaited.length === 0) return;
    const text = new TextDecoder("latin1").decode(value);
    this.#awaited = this.#awaited.filter((awaited) => {
      if (!text.includes(awaited.text)) return true;
      awaited.seen();
      return false;
    });
  }

  #drop(pair: Pair): void {
    const resumed = deferred<void>();
    this.#resumed = resumed.promise;
    this.#resume = () => resumed.resolve();
    this.#close(pair);
    this.#dropped.resolve();
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

/**
 * A Locker whose connections go through a reply-dropping proxy. The scripts
 * are loaded first: a dropped NOSCRIPT reply would prove nothing ran.
 */
export async function behindProxy(
  t: RedisTestContext,
  options: LockerOptions = {},
): Promise<
  { proxy: ReplyDroppingProxy; locker: Locker } & AsyncDisposable
> {
  for (const script of SCRIPTS) await t.redis.script("LOAD", script.lua);
  const proxy = new ReplyDroppingProxy(t.server.port);
  const locker = new Locker({ ...options, url: proxy.url });
  return {
    proxy,
    locker,
    async [Symbol.asyncDispose]() {
      // Connections held since a drop must pass for the Locker to close.
      proxy.resume();
      await within(locker.close(), 10_000, "the proxied Locker closes");
      await proxy[Symbol.asyncDispose]();
    },
  };
}
