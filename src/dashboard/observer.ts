/**
 * Watches every queue through a Locker's public API, the same way for Redis
 * and the file backend: `follow()` for events as they happen, and `status()`
 * for the queues themselves (in full every refresh interval, and for the
 * resources that had events as soon as they had them).
 *
 * @module
 */

import type { Locker } from "../locker.ts";
import type { TurnEvent } from "../types.ts";
import { TurnError } from "../errors.ts";
import { checkResource } from "../validate.ts";
import { deferred } from "../deferred.ts";
import type { HealthRule } from "./health.ts";
import { History } from "./history.ts";
import { type ResourceView, Track } from "./track.ts";

/** Options of an {@linkcode Observer}. */
export interface ObserverOptions {
  /** When a queue is slow or stuck. */
  readonly rule: HealthRule;
  /** Least time between full reads of every queue, in ms. */
  readonly refreshInterval: number;
}

/** Called with the views that changed and the names of queues that went away. */
export type ChangeListener = (
  changed: readonly ResourceView[],
  gone: readonly string[],
) => void;

/** Events of one resource are read together after this pause. */
const EVENT_BATCH_MS = 25;
/** A follow that failed is started again after this pause. */
const RETRY_MS = 1_000;
/** A queue gone this long is forgotten (until it comes back). */
const FORGET_AFTER_MS = 60_000;
/** A full read may take at most this share of the time. */
const FULL_READ_SHARE = 4;

/**
 * The state of every queue, kept current, with the history seen so far.
 *
 * @example
 * ```ts ignore
 * import { Observer } from "./observer.ts";
 * import { DEFAULT_HEALTH_RULE } from "./health.ts";
 * const observer = new Observer(locker, { rule: DEFAULT_HEALTH_RULE, refreshInterval: 1_000 });
 * await observer.ready;
 * console.log(observer.views());
 * await observer.close();
 * ```
 */
export class Observer {
  /** What was seen happen since the start. */
  readonly history: History;
  /** When a queue is slow or stuck. */
  readonly rule: HealthRule;
  /**
   * Settles once events are followed and every queue was read once (or
   * either failed, see `error`).
   */
  readonly ready: Promise<void>;
  readonly #locker: Locker;
  readonly #refreshInterval: number;
  readonly #tracks = new Map<string, Track>();
  readonly #views = new Map<string, ResourceView>();
  readonly #signatures = new Map<string, string>();
  readonly #listeners = new Set<ChangeListener>();
  readonly #dirty = new Set<string>();
  readonly #stop = new AbortController();
  readonly #running: Promise<unknown>;
  #wake = deferred<void>();
  #fullReadDue = true;
  #error: string | undefined;

  /** Starts watching through `locker` (which stays the caller's to close). */
  constructor(locker: Locker, options: ObserverOptions) {
    this.#locker = locker;
    this.rule = options.rule;
    this.#refreshInterval = options.refreshInterval;
    this.history = new History(Date.now());
    const firstRead = deferred<void>();
    const subscribed = deferred<void>();
    this.ready = Promise.all([firstRead.promise, subscribed.promise]).then(
      () => {},
    );
    this.#running = Promise.all([
      this.#readLoop(firstRead.resolve),
      this.#followLoop(subscribed.resolve),
    ]);
  }

  /** Why the queues cannot be read right now, if they cannot. */
  get error(): string | undefined {
    return this.#error;
  }

  /** Every queue's current view, in no particular order. */
  views(): ResourceView[] {
    return [...this.#views.values()];
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops watching. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#wake.resolve();
    this.#listeners.clear();
    await this.#running;
  }

  async #followLoop(subscribed: () => void): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        const follow = this.#locker.follow(undefined, { signal });
        await follow.ready.finally(subscribed);
        // Whatever happened before the subscription was active is read now.
        this.#fullReadDue = true;
        this.#wake.resolve();
        for await (const event of follow) this.#observe(event);
      } catch (error) {
        this.#fail(error);
      }
      await pause(RETRY_MS, signal);
    }
  }

  #observe(event: TurnEvent): void {
    this.#track(event.resource, event.time).observe(event);
    // A name this module would refuse (another client's) cannot be asked
    // for by name; the full reads, which list every queue, still show it.
    if (!isResourceName(event.resource)) return;
    this.#dirty.add(event.resource);
    this.#wake.resolve();
  }

  async #readLoop(readOnce: () => void): Promise<void> {
    let nextFullRead = 0;
    while (!this.#stop.signal.aborted) {
      if (this.#fullReadDue || Date.now() >= nextFullRead) {
        const started = Date.now();
        await this.#read(undefined);
        readOnce();
        const took = Date.now() - started;
        nextFullRead = Date.now() +
          Math.max(this.#refreshInterval, FULL_READ_SHARE * took);
      } else if (this.#dirty.size > 0) {
        await pause(EVENT_BATCH_MS, this.#stop.signal);
        await this.#read([...this.#dirty]);
      }
      if (this.#dirty.size === 0 && !this.#fullReadDue) {
        await this.#sleep(nextFullRead - Date.now());
      }
    }
  }

  /** Reads `names` (every queue if `undefined`) and tells the listeners. */
  async #read(names: string[] | undefined): Promise<void> {
    if (names === undefined) this.#fullReadDue = false;
    for (const name of names ?? []) this.#dirty.delete(name);
    if (names === undefined) this.#dirty.clear();
    try {
      const statuses = await this.#locker.status(names);
      const now = Date.now();
      const found = new Map(
        statuses.map((status) => [status.resource, status]),
      );
      for (const name of names ?? this.#tracks.keys()) {
        if (!found.has(name)) this.#tracks.get(name)?.update(undefined, now);
      }
      for (const status of statuses) {
        this.#track(status.resource, now).update(status, now);
      }
      this.#error = undefined;
      this.#publish(names ?? [...this.#tracks.keys()], now);
      if (names === undefined) this.#noteDepth(now);
    } catch (error) {
      this.#fail(error);
    }
  }

  #track(resource: string, now: number): Track {
    let track = this.#tracks.get(resource);
    if (track === undefined) {
      track = new Track(resource, now, this.history);
      this.#tracks.set(resource, track);
    }
    return track;
  }

  #publish(names: readonly string[], now: number): void {
    const changed: ResourceView[] = [];
    const gone: string[] = [];
    for (const name of names) {
      const track = this.#tracks.get(name);
      const view = track?.view(this.rule, now);
      if (view === undefined) {
        if (this.#views.delete(name)) gone.push(name);
        this.#signatures.delete(name);
        if (track && now - track.lastSeen > FORGET_AFTER_MS) {
          this.#tracks.delete(name);
        }
        continue;
      }
      this.#views.set(name, view);
      const signature = signatureOf(view);
      if (this.#signatures.get(name) === signature) continue;
      this.#signatures.set(name, signature);
      changed.push(view);
    }
    if (changed.length === 0 && gone.length === 0) return;
    for (const listener of this.#listeners) listener(changed, gone);
  }

  #noteDepth(now: number): void {
    let waiting = 0;
    for (const view of this.#views.values()) waiting += view.waiters.length;
    this.history.depth(waiting, now);
  }

  #fail(error: unknown): void {
    if (this.#stop.signal.aborted) return;
    // Only turn's own messages are shown: they never include a password.
    this.#error = error instanceof TurnError
      ? error.message
      : "the queues cannot be read (the server's log may say why)";
  }

  /** Sleeps up to `ms`, or until there is news or the observer stops. */
  async #sleep(ms: number): Promise<void> {
    await pause(ms, this.#stop.signal, this.#wake.promise);
    if (!this.#stop.signal.aborted) this.#wake = deferred<void>();
  }
}

function isResourceName(name: string): boolean {
  try {
    checkResource(name);
    return true;
  } catch {
    return false;
  }
}

/** Resolves after `ms`, when `signal` aborts, or when `early` settles. */
async function pause(
  ms: number,
  signal: AbortSignal,
  early?: Promise<void>,
): Promise<void> {
  if (signal.aborted || ms <= 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  await Promise.race([
    early,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      onAbort = resolve;
      signal.addEventListener("abort", onAbort, { once: true });
    }),
  ]);
  clearTimeout(timer);
  signal.removeEventListener("abort", onAbort!);
}

/**
 * What must differ for a view to count as changed: not the moment it was
 * read, and a TTL only by when it runs out (to the second), so a queue where
 * nothing happens sends nothing but its renewals.
 */
function signatureOf(view: ResourceView): string {
  const expiry = (ttl: number) =>
    ttl < 0 ? ttl : Math.round((view.at + ttl) / 1_000);
  return JSON.stringify(
    view,
    (key, value) =>
      key === "at"
        ? undefined
        : key === "ttl"
        ? expiry(value)
        : key === "skipIn" && typeof value === "number"
        ? expiry(value)
        : value,
  );
}
