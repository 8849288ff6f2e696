/**
 * User callbacks run inside the Locker's own work (a pub/sub message, a
 * heartbeat, a draw): one that throws must not break that work, and must not
 * end the process. Its error is reported and the work goes on.
 *
 * @module
 */

/** Reports an error thrown (or rejected) by the user callback `name`. */
export function reportCallbackError(name: string, error: unknown): void {
  console.error(`turn: the ${name} callback failed; carrying on:`, error);
}

/**
 * `callback`, made safe to call from inside the Locker: a throw or a
 * rejected promise is reported instead of propagated.
 */
export function guardCallback<A extends unknown[]>(
  name: string,
  callback: (...args: A) => unknown,
): (...args: A) => void {
  return (...args) => {
    try {
      const result = callback(...args);
      if (result instanceof Promise) {
        result.catch((error) => reportCallbackError(name, error));
      }
    } catch (error) {
      reportCallbackError(name, error);
    }
  };
}
