/**
 * What the steps on a queue answer, the same for every backend: Redis runs
 * each step as one Lua script (src/redis/steps.ts), the file backend under
 * the lock on the resource's directory (src/file/steps.ts). A backend may
 * add what only it knows (a time to live, a presence file), never take away.
 *
 * @module
 */

/** What a draw got: a number, and whether the turn is already its own. */
export interface Drawn {
  readonly n: number;
  readonly granted: boolean;
  /** The number whose turn it is (`n` itself when granted). */
  readonly indicator: number;
}

/**
 * Where a waiter stands: granted (with the fencing token the step issued),
 * still waiting behind `indicator`, or lapsed.
 */
export type PollResult =
  | { readonly verdict: "granted"; readonly fence: bigint }
  | { readonly verdict: "lapsed" }
  | { readonly verdict: "waiting"; readonly indicator: number };

/** What leaving did: whether the user held the turn, and live users ahead. */
export interface ReleaseResult {
  readonly holder: boolean;
  readonly ahead: number;
}
