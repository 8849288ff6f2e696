/**
 * The handle of a held turn.
 *
 * @module
 */

/**
 * How a turn ends: done, or the critical section threw.
 *
 * @example
 * ```ts
 * import type { ReleaseOutcome } from "./lock.ts";
 * const outcome: ReleaseOutcome = "crashed";
 * ```
 */
export type ReleaseOutcome = "completed" | "crashed";

/**
 * A held turn on a resource. Release it with `release()`, or let
 * `await using` do it.
 *
 * @example Holding a turn for a block
 * ```ts
 * import { Locker } from "./locker.ts";
 * await using locker = new Locker();
 * await using lock = await locker.lock("printer");
 * console.log(lock.resource, lock.number, lock.signal.aborted);
 * ```
 */
export class Lock implements AsyncDisposable {
  /** The resource held. */
  readonly resource: string;
  /** The serial number drawn. */
  readonly number: number;
  /** The label shown to others. */
  readonly label: string;
  readonly #signal: AbortSignal;
  readonly #check: () => void;
  readonly #end: (outcome: ReleaseOutcome) => Promise<void>;
  #released: Promise<void> | undefined;

  /** Made by the Locker; not for direct use. */
  constructor(
    resource: string,
    number: number,
    label: string,
    signal: AbortSignal,
    end: (outcome: ReleaseOutcome) => Promise<void>,
    check: () => void = () => {},
  ) {
    this.resource = resource;
    this.number = number;
    this.label = label;
    this.#signal = signal;
    this.#end = end;
    this.#check = check;
  }

  /**
   * Aborts, with a LeaseLostError as reason, if the lease is lost. Reading
   * it checks the lease's deadline first, so code whose event loop was
   * blocked past `expire` sees the loss at once, before any timer has run:
   * read `lock.signal` again rather than keeping an old reference.
   */
  get signal(): AbortSignal {
    this.#check();
    return this.#signal;
  }

  /** Whether `release()` has been called. */
  get released(): boolean {
    return this.#released !== undefined;
  }

  /**
   * Ends the turn and hands it to the next user. Idempotent: later calls
   * return the first call's promise. `outcome: "crashed"` announces that the
   * critical section failed (turn 1.0's `crashed!`); the turn is handed on at
   * once either way.
   */
  release(outcome: ReleaseOutcome = "completed"): Promise<void> {
    return this.#released ??= this.#end(outcome);
  }

  /** Same as `release()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
