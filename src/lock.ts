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
 * What a backend tells the holder of a turn about its lease, beyond the
 * abort signal.
 *
 * @example
 * ```ts
 * import type { LeaseInfo } from "./lock.ts";
 * const lease: LeaseInfo = { validUntil: () => Date.now() + 60_000 };
 * ```
 */
export interface LeaseInfo {
  /** Until when the turn is certainly held; see {@linkcode Lock.validUntil}. */
  readonly validUntil?: () => number;
  /** The file that keeps the turn alive; see {@linkcode Lock.presenceFile}. */
  readonly presenceFile?: string;
  /** The fencing token of this grant; see {@linkcode Lock.fence}. */
  readonly fence?: bigint;
}

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
  /**
   * File backend only: the presence file whose lock keeps this turn alive
   * (`undefined` on Redis). A process holding a shared `flock(2)` on it, such
   * as a child started with `flock -s FILE command`, or one that inherits
   * such a lock, keeps the turn from passing on when this process dies,
   * until it ends too: as with flock(1), the turn then lives as long as the
   * last process holding the lock. `turn run` uses this for its command.
   */
  readonly presenceFile: string | undefined;
  /**
   * The fencing token of this grant: it strictly increases with each grant
   * of the resource, for the life of the deployment (across idle periods,
   * `reset` and, on a Redis with persistence, restarts; docs/GUARANTEES.md
   * says where that ends). Compare tokens as integers (`<` on bigints): a
   * store that remembers the largest token it accepted and refuses a write
   * carrying a smaller one refuses a holder whose turn has passed on.
   * Tokens are not consecutive, and tokens of different resources are not
   * comparable. `0n` only where the backend gives none.
   *
   * @example Refusing a stale holder's write
   * ```ts
   * let accepted = 0n;
   * function write(fence: bigint): boolean {
   *   if (fence < accepted) return false;
   *   accepted = fence;
   *   return true;
   * }
   * write(7n); // true
   * write(5n); // false: a later holder already wrote
   * ```
   */
  readonly fence: bigint;
  readonly #validUntil: () => number;
  /** The signal, or what makes it when first read. */
  #signal: AbortSignal | (() => AbortSignal);
  readonly #check: () => void;
  readonly #end: (outcome: ReleaseOutcome) => Promise<void>;
  #released: Promise<void> | undefined;

  /**
   * Made by the Locker; not for direct use. `signal` may be a function
   * that gives it, called when first read.
   */
  constructor(
    resource: string,
    number: number,
    label: string,
    signal: AbortSignal | (() => AbortSignal),
    end: (outcome: ReleaseOutcome) => Promise<void>,
    check: () => void = () => {},
    lease: LeaseInfo = {},
  ) {
    this.resource = resource;
    this.number = number;
    this.label = label;
    this.presenceFile = lease.presenceFile;
    this.fence = lease.fence ?? 0n;
    this.#validUntil = lease.validUntil ?? (() => Infinity);
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
    if (typeof this.#signal === "function") this.#signal = this.#signal();
    return this.#signal;
  }

  /**
   * Until when (milliseconds since the epoch, this host's clock) the turn
   * is certainly still this lock's: on Redis, when the last renewal that
   * reached Redis was sent, plus `expire`, so the presence cannot lapse
   * before then whatever happens to the connection. It moves forward with
   * every renewal. `Infinity` on the file backend, whose presence lasts as
   * long as the process. A holder that must stop its work before anyone
   * else can be granted (as `turn run` stops its command) acts before this.
   */
  get validUntil(): number {
    return this.#validUntil();
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
