/**
 * An engine that is still being built. The Locker's constructor is
 * synchronous, but the Redis engine needs ioredis, which is loaded only once
 * a Redis connection is used: file-backend programs never run it, and a
 * missing permission becomes a rejected call rather than a crash at import.
 *
 * @module
 */

import type { Engine, WaitLimits } from "../engine.ts";
import { Follow } from "../follow.ts";
import type { Lock } from "../lock.ts";
import type { TicketSpec } from "../ticket.ts";
import type { ResetResult, ResourceStatus } from "../types.ts";

/** Forwards every call to the engine `building` resolves to. */
export class LazyEngine implements Engine {
  readonly #building: Promise<Engine>;
  #engine: Engine | undefined;

  /** `building` rejects if the engine cannot be built: each call says why. */
  constructor(building: Promise<Engine>) {
    this.#building = building.then((engine) => this.#engine = engine);
    // Reported by the calls that need the engine, not as an unhandled
    // rejection of a Locker nobody used.
    this.#building.catch(() => {});
  }

  /** `call` on the engine, at once if it is built. */
  #on<R>(call: (engine: Engine) => Promise<R>): Promise<R> {
    return this.#engine ? call(this.#engine) : this.#building.then(call);
  }

  /** See {@linkcode Engine.acquire}. */
  acquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
  ): Promise<Lock> {
    // Once built, with no closure in between.
    if (this.#engine) return this.#engine.acquire(resource, spec, limits);
    return this.#on((engine) => engine.acquire(resource, spec, limits));
  }

  /** See {@linkcode Engine.tryAcquire}. */
  tryAcquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
  ): Promise<Lock | null> {
    return this.#on((engine) => engine.tryAcquire(resource, spec, limits));
  }

  /** See {@linkcode Engine.resources}. */
  resources(): Promise<string[]> {
    return this.#on((engine) => engine.resources());
  }

  /** See {@linkcode Engine.checkNames}. */
  checkNames(resources: readonly string[]): Promise<void> {
    return this.#on((engine) => engine.checkNames(resources));
  }

  /** See {@linkcode Engine.status}. */
  status(resources: readonly string[]): Promise<ResourceStatus[]> {
    return this.#on((engine) => engine.status(resources));
  }

  /** See {@linkcode Engine.reset}. */
  reset(
    resources: readonly string[],
    forget: boolean,
  ): Promise<ResetResult[]> {
    return this.#on((engine) => engine.reset(resources, forget));
  }

  /** See {@linkcode Engine.follow}. */
  follow(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow {
    if (this.#engine) return this.#engine.follow(resources, signal);
    // Until the engine exists, relay the events of its own Follow; this one
    // ends when that one does.
    const ended = new AbortController();
    return new Follow((emit) => {
      let inner: Follow | undefined;
      let stopped = false;
      const relay = async (follow: Follow) => {
        for await (const event of follow) emit(event.resource, event.message);
        ended.abort();
      };
      const ready = this.#building.then(async (engine) => {
        if (stopped) return;
        inner = engine.follow(resources, signal);
        await inner.ready;
        void relay(inner);
      });
      return {
        ready,
        stop: () => {
          stopped = true;
          void inner?.return();
        },
      };
    }, [signal, ended.signal]);
  }

  /** Closes the engine once built; nothing to close if it never was. */
  async close(): Promise<void> {
    const engine = await this.#building.catch(() => undefined);
    await engine?.close();
  }
}
