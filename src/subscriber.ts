/**
 * The Locker's one pub/sub connection, shared by every waiter and follower.
 * Channels and patterns are subscribed while at least one listener wants them.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { quit } from "./quit.ts";

/** Receives a message: the channel it came on and its payload. */
export type Listener = (channel: string, payload: string) => void;

/** One pub/sub connection with listeners per channel and per pattern. */
export class Subscriber {
  readonly #create: () => Redis;
  readonly #connect: (client: Redis) => Promise<void>;
  readonly #channels = new Map<string, Set<Listener>>();
  readonly #patterns = new Map<string, Set<Listener>>();
  readonly #closing = new AbortController();
  #client: Promise<Redis> | undefined;

  /** `create` makes the client (not connected); `connect` waits for it. */
  constructor(create: () => Redis, connect: (client: Redis) => Promise<void>) {
    this.#create = create;
    this.#connect = connect;
  }

  #open(): Promise<Redis> {
    this.#client ??= (async () => {
      const client = this.#create();
      client.on("error", () => {});
      client.on("message", (channel: string, payload: string) => {
        for (const listener of this.#channels.get(channel) ?? []) {
          listener(channel, payload);
        }
      });
      client.on(
        "pmessage",
        (pattern: string, channel: string, payload: string) => {
          for (const listener of this.#patterns.get(pattern) ?? []) {
            listener(channel, payload);
          }
        },
      );
      try {
        await this.#connect(client);
        // Names added while an earlier connection attempt failed are
        // subscribed here; subscribing twice to a name is harmless.
        if (this.#channels.size > 0) {
          await client.subscribe(...this.#channels.keys());
        }
        if (this.#patterns.size > 0) {
          await client.psubscribe(...this.#patterns.keys());
        }
      } catch (error) {
        client.disconnect();
        this.#client = undefined;
        throw error;
      }
      return client;
    })();
    return this.#client;
  }

  /** Calls `listener` for messages on `channel`; resolves once subscribed. */
  listen(channel: string, listener: Listener): Promise<void> {
    return this.#add(
      this.#channels,
      channel,
      listener,
      (c) => c.subscribe(channel),
    );
  }

  /** Stops calling `listener` for `channel`. */
  unlisten(channel: string, listener: Listener): void {
    this.#remove(
      this.#channels,
      channel,
      listener,
      (c) => c.unsubscribe(channel),
    );
  }

  /** Calls `listener` for messages on channels matching `pattern`. */
  listenPattern(pattern: string, listener: Listener): Promise<void> {
    return this.#add(
      this.#patterns,
      pattern,
      listener,
      (c) => c.psubscribe(pattern),
    );
  }

  /** Stops calling `listener` for `pattern`. */
  unlistenPattern(pattern: string, listener: Listener): void {
    this.#remove(
      this.#patterns,
      pattern,
      listener,
      (c) => c.punsubscribe(pattern),
    );
  }

  async #add(
    table: Map<string, Set<Listener>>,
    name: string,
    listener: Listener,
    subscribe: (client: Redis) => Promise<unknown>,
  ): Promise<void> {
    let listeners = table.get(name);
    const fresh = !listeners;
    if (!listeners) table.set(name, listeners = new Set());
    listeners.add(listener);
    const client = await this.#open();
    if (fresh) await subscribe(client);
  }

  #remove(
    table: Map<string, Set<Listener>>,
    name: string,
    listener: Listener,
    unsubscribe: (client: Redis) => Promise<unknown>,
  ): void {
    const listeners = table.get(name);
    if (!listeners?.delete(listener) || listeners.size > 0) return;
    table.delete(name);
    this.#client?.then(unsubscribe).catch(() => {});
  }

  /**
   * Connects again if listeners are waiting and the last attempt failed
   * (Redis was away); resolves once their names are subscribed.
   */
  async reopen(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    if (this.#channels.size === 0 && this.#patterns.size === 0) return;
    await this.#open();
  }

  /** Aborts when the connection is closed for good. */
  get closed(): AbortSignal {
    return this.#closing.signal;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.#closing.abort();
    this.#channels.clear();
    this.#patterns.clear();
    const client = await this.#client?.catch(() => undefined);
    this.#client = undefined;
    if (client) await quit(client);
  }
}
