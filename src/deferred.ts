/**
 * `Promise.withResolvers()` for runtimes that lack it: Node 20, which the npm
 * build supports, has no `Promise.withResolvers` (Node 22 and Deno do).
 *
 * @module
 */

/** A promise with its resolve and reject functions. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T | PromiseLike<T>) => void;
  readonly reject: (reason?: unknown) => void;
}

/**
 * Creates a promise together with the functions that settle it.
 *
 * @returns The promise, `resolve` and `reject`.
 *
 * @example Usage
 * ```ts
 * import { deferred } from "./deferred.ts";
 * const done = deferred<number>();
 * done.resolve(42);
 * console.log(await done.promise); // 42
 * ```
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: Deferred<T>["resolve"];
  let reject!: Deferred<T>["reject"];
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}
