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

interface Subscription {
  readonly listeners: Set<Listener>;
  /** The SUBSCRIBE (or PSUBSCRIBE) under way or done. */
  subscribed?: Promise<void>;
}

/** One pub/sub connection with listeners per channel and per pattern. */
export class Subscriber {
  readonly #create: () => Redis;
  readonly #connect: (client: Redis) => Promise<void>;
  readonly #channels = new Map<string, Subscription>();
  readonly #patterns = new Map<string, Subscription>();
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
        for (const listener of this.#channels.get(channel)?.listeners ?? []) {
          listener(channel, payload);
        }
      });
      client.on(
        "pmessage",
        (pattern: string, channel: string, payload: string) => {
          for (
            const listener of this.#patterns.get(pattern)?.listeners ?? []
          ) {
            listener(channel, payload);
          }
        },
      );
      try {
        await this.#connect(client);
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

  #add(
    table: Map<string, Subscription>,
    name: string,
    listener: Listener,
    subscribe: (client: Redis) => Promise<unknown>,
  ): Promise<void> {
    let entry = table.get(name);
    if (!entry) table.set(name, entry = { listeners: new Set() });
    entry.listeners.add(listener);
    // Every listener waits for the one SUBSCRIBE, so none resolves before the
    // channel is live and misses a message published in between.
    const subscription = entry;
    subscription.subscribed ??= this.#open().then(subscribe).then(() => {})
      .catch((error) => {
        subscription.subscribed = undefined; // the next listener tries again
        throw error;
      });
    return subscription.subscribed;
  }

  #remove(
    table: Map<string, Subscription>,
    name: string,
    listener: Listener,
    unsubscribe: (client: Redis) => Promise<unknown>,
  ): void {
    const entry = table.get(name);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    table.delete(name);
    this.#client?.then(unsubscribe).catch(() => {});
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
