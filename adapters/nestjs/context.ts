/**
 * The turn a running `@Turn` method holds, kept per call in async context so
 * the method's signature stays its own.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import type { Lock } from "../../mod.ts";
import { TurnDecoratorError } from "./errors.ts";

/**
 * What a method decorated with `@Turn` can see of its own turn.
 *
 * @example
 * ```ts
 * import type { TurnContext } from "@turn/turn/nestjs";
 * const fences = ({ locks }: TurnContext) => locks.map((lock) => lock.fence);
 * ```
 */
export interface TurnContext {
  /**
   * The held locks, one per resource, in the (sorted) order taken. Send each
   * lock's `fence` with writes to its resource, so that the resource can
   * refuse a call whose turn has passed.
   */
  readonly locks: readonly Lock[];
  /** Aborts, with a LeaseLostError as reason, when any of the leases is lost. */
  readonly signal: AbortSignal;
}

/** The turns of the calls under way, one per async context. */
export const contexts: AsyncLocalStorage<TurnContext> = new AsyncLocalStorage<
  TurnContext
>();

/**
 * The turn held by the `@Turn` method that is running (or that the calling
 * code was started from), without changing the method's signature. Each call
 * sees its own turn, however many run at once.
 *
 * @example Reading the ticket number and the lease signal
 * ```ts
 * import { Injectable } from "@nestjs/common";
 * import { currentTurn, Turn } from "@turn/turn/nestjs";
 *
 * @Injectable()
 * class Printer {
 *   @Turn("printer")
 *   async print(text: string): Promise<number> {
 *     const { locks, signal } = currentTurn();
 *     signal.throwIfAborted();
 *     console.log(text);
 *     return locks[0].number;
 *   }
 * }
 * ```
 */
export function currentTurn(): TurnContext {
  const context = contexts.getStore();
  if (context === undefined) {
    throw new TurnDecoratorError(
      "currentTurn",
      "currentTurn() must be called while a method decorated with @Turn runs: no turn is held here",
    );
  }
  return context;
}
