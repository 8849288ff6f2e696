/**
 * A live stream of a queue's external messages, parsed into events.
 *
 * @module
 */

import { parseMessage } from "./messages.ts";
import type { TurnEvent } from "./types.ts";

/** Where a Follow's messages come from: started by the Follow, stopped by it. */
export interface EventSource {
  /** Settles once messages flow (rejects if they cannot). */
  readonly ready: Promise<void>;
  /** Stops the flow of messages. */
  stop(): void;
}

/** Starts a source that calls `emit` for each message of a resource. */
export type StartEvents = (
  emit: (resource: string, message: string) => void,
) => EventSource;

/** Turns an external message of `resource` into an event. */
export function eventOf(
  resource: string,
  message: string,
  time: number,
): TurnEvent {
  const parsed = parseMessage(resource, message);
  return parsed
    ? { resource, ...parsed, time, message }
    : { resource, kind: "other", time, message };
}

/**
 * The events of some resources, or of every resource (including ones created
 * later), as an async iterator. Made by `locker.follow()`.
 *
 * @example Printing events until aborted
 * ```ts
 * import { Locker } from "./locker.ts";
 * await using locker = new Locker();
 * const follow = locker.follow(["printer"], {
 *   signal: AbortSignal.timeout(100),
 * });
 * await follow.ready;
 * for await (const event of follow) console.log(event.message);
 * ```
 */
export class Follow
  implements AsyncIterableIterator<TurnEvent>, AsyncDisposable {
  /** Settles once the subscription is active (rejects if it failed). */
  readonly ready: Promise<void>;
  readonly #unsubscribe: () => void;
  readonly #queue: TurnEvent[] = [];
  #wake: (() => void) | undefined;
  #done = false;

  /** Made by an engine; not for direct use. */
  constructor(
    start: StartEvents,
    stoppers: readonly (AbortSignal | undefined)[],
  ) {
    const source = start((resource, message) => {
      this.#queue.push(eventOf(resource, message, Date.now()));
      this.#wakeUp();
    });
    this.ready = source.ready;
    this.#unsubscribe = () => source.stop();
    this.ready.catch(() => this.#stop());
    for (const stopper of stoppers) {
      if (stopper?.aborted) this.#stop();
      stopper?.addEventListener("abort", () => this.#stop(), { once: true });
    }
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #stop(): void {
    if (this.#done) return;
    this.#done = true;
    this.#unsubscribe();
    this.#wakeUp();
  }

  /** The next event; done once stopped. */
  async next(): Promise<IteratorResult<TurnEvent>> {
    await this.ready;
    while (this.#queue.length === 0 && !this.#done) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const event = this.#queue.shift();
    return event
      ? { value: event, done: false }
      : { value: undefined, done: true };
  }

  /** Stops following. */
  return(): Promise<IteratorResult<TurnEvent>> {
    this.#stop();
    this.#queue.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  /** This object is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Same as `return()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}
