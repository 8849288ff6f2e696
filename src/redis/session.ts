/**
 * The command connection of one Redis engine: connects once and shares the
 * attempt, learns how scripts announce grants, hands back this module's
 * errors only (never ioredis's), tells the engine when the connection is
 * lost and back, and quits at the end if the engine owns it.
 *
 * @module
 */

import type { ScriptVariant } from "./scripts.ts";
import type { ResourceKeys } from "./keys.ts";
import { run, type Step, type Target } from "./steps.ts";
import type { Ticket } from "../ticket.ts";
import {
  type Client,
  duplicateClient,
  quit,
  waitUntilReady,
} from "./client.ts";
import type { Connection } from "./options.ts";
import { isRefused, ownError } from "./errors.ts";
import { ConnectionError } from "../errors.ts";
import { masterOf, nodeName } from "./cluster_nodes.ts";
import type { Redis } from "ioredis";

const DEFAULT_CONNECT_TIMEOUT = 5_000;

/** What the engine hears of its command connection. */
export interface SessionEvents {
  /** The connection dropped (on a Cluster: every node's). */
  lost(): void;
  /** A Cluster dropped node `host:port` (a master or a replica). */
  nodeLost(node: string): void;
  /** The connection is ready again. */
  back(): void;
}

/** An engine's command connection. */
export class Session {
  readonly #connection: Connection;
  readonly #connectTimeout: number;
  #ready: Promise<void> | undefined;
  /** `#ready` has resolved: `ready()` has nothing left to wait for. */
  #connected = false;
  /**
   * Which scripts run: a single server's, or a cluster's (sharded once the
   * cluster proves it has SPUBLISH).
   */
  #variant: ScriptVariant = "single";
  /** On the command client; taken off at the end, as it may be borrowed. */
  readonly #listeners: ReadonlyArray<[string, (arg: unknown) => void]>;
  /** The command client's last error event. */
  #lastError: Error | undefined;

  /** Listens on `connection`'s client for `events` until `end()`. */
  constructor(
    connection: Connection,
    connectTimeout: number | undefined,
    events: SessionEvents,
  ) {
    this.#connection = connection;
    this.#connectTimeout = connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    this.#listeners = [
      // Without a listener, ioredis prints every connection error to the
      // console; the last one says why Redis cannot be reached.
      ["error", (error) => this.#lastError = error as Error],
      ["close", () => events.lost()],
      // A Cluster emits "close" only once every node is gone; one node lost
      // (a master and its keys, until a replica takes over) shows as "-node".
      ["-node", (node) => events.nodeLost(nodeName(node as Redis))],
      ["ready", () => {
        this.#lastError = undefined;
        events.back();
      }],
    ];
    for (const [event, listener] of this.#listeners) {
      connection.client.on(event, listener);
    }
  }

  /** The command client. */
  get client(): Client {
    return this.#connection.client;
  }

  /**
   * Why Redis cannot be reached now, if the command client is not ready:
   * its last error, or its state when it has given none.
   */
  unreachable(): ConnectionError | undefined {
    const { status } = this.client;
    if (status === "ready") return undefined;
    const reason = this.#lastError?.message ?? `the connection is ${status}`;
    return new ConnectionError(this.#connection.address, reason);
  }

  /**
   * `host:port` of the Cluster master serving `keys` now, as the client
   * knows it; `undefined` when not a Cluster.
   */
  masterOf(keys: ResourceKeys): string | undefined {
    return masterOf(this.client, keys.indicator);
  }

  /** Whether the server is a Redis Cluster. */
  get cluster(): boolean {
    return this.#connection.cluster;
  }

  /** Which variant of the scripts runs on this server. */
  get variant(): ScriptVariant {
    return this.#variant;
  }

  /** Whether grants go out with SPUBLISH, to be heard with SSUBSCRIBE. */
  get sharded(): boolean {
    return this.#variant === "sharded";
  }

  /** Connects the command client once; later calls share the attempt. */
  ready(): Promise<void> {
    this.#ready ??= this.#connectCommands().then(
      () => void (this.#connected = true),
      (error) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  /**
   * Whether the command client was connected once, so `ready()` has nothing
   * left to wait for (a later drop is ioredis's to ride out).
   */
  get connected(): boolean {
    return this.#connected;
  }

  async #connectCommands(): Promise<void> {
    await this.connect(this.client);
    if (!this.#connection.cluster) return;
    // Sharded pub/sub came with Redis 7; older clusters get PUBLISH.
    const [spublish] = await this.owned(
      this.client.call("COMMAND", "INFO", "SPUBLISH"),
    ) as unknown[];
    this.#variant = spublish ? "sharded" : "cluster";
  }

  /** Waits until `client` (this one, or a duplicate) is ready. */
  connect(client: Client): Promise<void> {
    return waitUntilReady(
      client,
      this.#connection.address,
      this.#connectTimeout,
    );
  }

  /** A new client to the same server, as for the subscriber. */
  duplicate(): Client {
    return duplicateClient(this.#connection);
  }

  /** `work`, rejecting with this module's errors only, never ioredis's. */
  async owned<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.own(error);
    }
  }

  /** This module's error for `error`. */
  own(error: unknown): Error {
    return ownError(this.#connection.address, error);
  }

  /** Where the steps on `keys` run. */
  target(keys: ResourceKeys): Target {
    return { keys, variant: this.#variant };
  }

  /** Runs one step (see steps.ts, `run`). */
  run<R>(step: Step<R>, keepTrying?: () => boolean): Promise<R> {
    return run(this.client, step, keepTrying);
  }

  /** Fails the ticket's wait if Redis refused for want of a permission. */
  refuse(ticket: Ticket, error: unknown): boolean {
    if (!isRefused(error)) return false;
    ticket.fail(this.own(error));
    return true;
  }

  /** Resolves on the command client's next "ready", after `ms`, or on abort. */
  reconnected(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.client.off("ready", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.client.on("ready", done);
      signal.addEventListener("abort", done);
    });
  }

  /** Stops listening; quits the client if the engine made it. */
  async end(): Promise<void> {
    for (const [event, listener] of this.#listeners) {
      this.client.off(event, listener);
    }
    if (this.#connection.owned) await quit(this.client);
  }
}
