/**
 * The Locker's one pub/sub connection, shared by every waiter and follower.
 * Channels, shard channels (sharded pub/sub on a Redis Cluster) and patterns
 * are subscribed while at least one listener wants them.
 *
 * @module
 */

import { type Client, disconnect, quit } from "./client.ts";
import { TurnError } from "../errors.ts";

/** Receives a message: the channel it came on and its payload. */
export type Listener = (channel: string, payload: string) => void;

/** How one kind of name (channel, shard channel, pattern) is subscribed. */
interface Kind {
  readonly subscribe: (client: Client, name: string) => Promise<unknown>;
  readonly unsubscribe: (client: Client, name: string) => Promise<unknown>;
  readonly entries: Map<string, Subscription>;
}

interface Subscription {
  readonly listeners: Set<Listener>;
  /** The subscription under way or done; unset after it failed. */
  subscribed?: Promise<void>;
  /** The connection (see Subscriber.live) on which Redis confirmed it. */
  confirmedOn?: number;
}

function kind(
  subscribe: Kind["subscribe"],
  unsubscribe: Kind["unsubscribe"],
): Kind {
  return { subscribe, unsubscribe, entries: new Map() };
}

/** One pub/sub connection with listeners per channel and per pattern. */
export class Subscriber {
  readonly #create: () => Client;
  readonly #connect: (client: Client) => Promise<void>;
  readonly #channels = kind(
    (c, name) => c.subscribe(name),
    (c, name) => c.unsubscribe(name),
  );
  readonly #shardChannels = kind(
    (c, name) => c.ssubscribe(name),
    (c, name) => c.sunsubscribe(name),
  );
  readonly #patterns = kind(
    (c, name) => c.psubscribe(name),
    (c, name) => c.punsubscribe(name),
  );
  readonly #closing = new AbortController();
  readonly #onReconnect: () => void;
  #client: Promise<Client> | undefined;
  /** Counts the connections: one more each time the last one was lost. */
  #connection = 0;

  /**
   * `create` makes the client (not connected); `connect` waits for it.
   * `onReconnect` runs once every name is subscribed again after the
   * connection dropped, and once `reopen()` has made again a subscription
   * that had failed: messages sent meanwhile were lost.
   */
  constructor(
    create: () => Client,
    connect: (client: Client) => Promise<void>,
    onReconnect: () => void = () => {},
  ) {
    this.#create = create;
    this.#connect = connect;
    this.#onReconnect = onReconnect;
  }

  #open(): Promise<Client> {
    if (this.#closing.signal.aborted) {
      // A connection made now would never be closed.
      return Promise.reject(new TurnError("the Locker is closed"));
    }
    this.#client ??= (async () => {
      const client = this.#create();
      client.on("error", () => {});
      // #reconnected subscribes again itself and handles its failures;
      // ioredis's own resubscription leaves a rejection nobody handles when
      // the connection closes before Redis answers it.
      if (!client.isCluster) {
        (client.options as { autoResubscribe?: boolean }).autoResubscribe =
          false;
      }
      client.on("message", (channel: string, payload: string) => {
        this.#deliver(this.#channels, channel, channel, payload);
      });
      client.on("smessage", (channel: string, payload: string) => {
        this.#deliver(this.#shardChannels, channel, channel, payload);
      });
      client.on(
        "pmessage",
        (pattern: string, channel: string, payload: string) => {
          this.#deliver(this.#patterns, pattern, channel, payload);
        },
      );
      try {
        await this.#connect(client);
      } catch (error) {
        disconnect(client);
        this.#client = undefined;
        throw error;
      }
      // A Cluster loses one node's subscriptions without a "close".
      for (const lost of ["close", "-node", "-subscriber"]) {
        client.on(lost, () => this.#connection++);
      }
      client.on("ready", () => this.#reconnected(client));
      return client;
    })();
    return this.#client;
  }

  /**
   * ioredis subscribes again by itself after a reconnect, but does not say
   * when that is done; subscribing once more (harmless) tells when, so that
   * `onReconnect` cannot miss a message sent between its check and the
   * subscription.
   */
  async #reconnected(client: Client): Promise<void> {
    const pending: Promise<unknown>[] = [];
    for (const table of [this.#channels, this.#shardChannels, this.#patterns]) {
      for (const [name, entry] of table.entries) {
        pending.push(this.#confirm(table.subscribe(client, name), entry));
      }
    }
    await Promise.allSettled(pending);
    if (!this.#closing.signal.aborted) this.#onReconnect();
  }

  /** Notes the connection `subscribing` was confirmed on. */
  #confirm(subscribing: Promise<unknown>, entry: Subscription): Promise<void> {
    return subscribing.then(() => {
      entry.confirmedOn = this.#connection;
    });
  }

  /**
   * The connection on which `channel` (a shard channel if `shard`) is
   * subscribed now, or undefined while it is not: every message published
   * on it from now on reaches its listeners, for as long as this stays the
   * same number.
   */
  live(channel: string, shard: boolean): number | undefined {
    const table = shard ? this.#shardChannels : this.#channels;
    const confirmed = table.entries.get(channel)?.confirmedOn;
    return confirmed === this.#connection ? confirmed : undefined;
  }

  #deliver(table: Kind, name: string, channel: string, payload: string): void {
    for (const listener of table.entries.get(name)?.listeners ?? []) {
      listener(channel, payload);
    }
  }

  /** Calls `listener` for messages on `channel`; resolves once subscribed. */
  listen(channel: string, listener: Listener): Promise<void> {
    return this.#add(this.#channels, channel, listener);
  }

  /** Stops calling `listener` for `channel`. */
  unlisten(channel: string, listener: Listener): void {
    this.#remove(this.#channels, channel, listener);
  }

  /** Calls `listener` for messages on shard channel `channel` (SSUBSCRIBE). */
  listenShard(channel: string, listener: Listener): Promise<void> {
    return this.#add(this.#shardChannels, channel, listener);
  }

  /** Stops calling `listener` for shard channel `channel`. */
  unlistenShard(channel: string, listener: Listener): void {
    this.#remove(this.#shardChannels, channel, listener);
  }

  /** Calls `listener` for messages on channels matching `pattern`. */
  listenPattern(pattern: string, listener: Listener): Promise<void> {
    return this.#add(this.#patterns, pattern, listener);
  }

  /** Stops calling `listener` for `pattern`. */
  unlistenPattern(pattern: string, listener: Listener): void {
    this.#remove(this.#patterns, pattern, listener);
  }

  #add(table: Kind, name: string, listener: Listener): Promise<void> {
    let entry = table.entries.get(name);
    if (!entry) table.entries.set(name, entry = { listeners: new Set() });
    entry.listeners.add(listener);
    return this.#subscribe(table, name, entry);
  }

  /**
   * Every listener of a name waits for its one subscription, so none resolves
   * before the name is live and misses a message published in between.
   */
  #subscribe(table: Kind, name: string, entry: Subscription): Promise<void> {
    entry.subscribed ??= this.#open()
      .then((client) => this.#confirm(table.subscribe(client, name), entry))
      .then(() => {}, (error) => {
        entry.subscribed = undefined; // reopen() or the next listener retries
        throw error;
      });
    return entry.subscribed;
  }

  #remove(table: Kind, name: string, listener: Listener): void {
    const entry = table.entries.get(name);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    table.entries.delete(name);
    this.#client?.then((client) => table.unsubscribe(client, name))
      .catch(() => {});
  }

  /**
   * Subscribes again every name whose subscription failed (Redis was away);
   * resolves once they are live. Names already live stay so (#reconnected
   * subscribes them again after a reconnect). Once a failed one is made
   * again, `onReconnect` runs: a message sent to it before, such as a grant
   * published just after the waiter's last poll, was lost, and nothing else
   * would ask before the next heartbeat.
   */
  async reopen(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    const pending: Promise<void>[] = [];
    let remade = false;
    for (const table of [this.#channels, this.#shardChannels, this.#patterns]) {
      for (const [name, entry] of table.entries) {
        remade ||= entry.subscribed === undefined;
        pending.push(this.#subscribe(table, name, entry));
      }
    }
    const settled = await Promise.allSettled(pending);
    if (remade && !this.#closing.signal.aborted) this.#onReconnect();
    for (const result of settled) {
      if (result.status === "rejected") throw result.reason;
    }
  }

  /** Aborts when the connection is closed for good. */
  get closed(): AbortSignal {
    return this.#closing.signal;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const table of [this.#channels, this.#shardChannels, this.#patterns]) {
      table.entries.clear();
    }
    const client = await this.#client?.catch(() => undefined);
    this.#client = undefined;
    if (client) await quit(client);
  }
}
