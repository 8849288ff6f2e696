/**
 * The kind of lock the demo compares turn with: whoever finds the lock free
 * takes it, and everyone else tries again a little later. Nobody keeps a
 * place in line, so a waiter can be passed again and again.
 *
 * @module
 */

/** A lock held by making a directory, which only one process can do. */
export class PollingLock {
  readonly #path: string;
  readonly #pollMs: number;

  /** A lock at `path` that waiters retry every `pollMs` milliseconds. */
  constructor(path: string, pollMs: number) {
    this.#path = path;
    this.#pollMs = pollMs;
  }

  /** Waits until this process made the directory. */
  async acquire(): Promise<void> {
    while (true) {
      try {
        await Deno.mkdir(this.#path);
        return;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
  }

  /** Lets the next one that happens to look take it. */
  async release(): Promise<void> {
    await Deno.remove(this.#path);
  }
}
