/**
 * Wakes the file backend when something changes in a directory or file:
 * by file-system events (inotify on Linux, which also reports the close of
 * a killed process's files), with a bounded poll as the fallback for
 * events a platform does not deliver.
 *
 * @module
 */

/** How often a watch checks even without events, in ms. */
export const FALLBACK_POLL_MS = 500;

/**
 * Calls `onChange` soon after something changes at `path`, and at least
 * every `pollMs`. Bursts of events cost one call.
 *
 * @example
 * ```ts ignore
 * using watch = new Watch("/var/lock/turn/printer", () => check());
 * ```
 */
export class Watch implements Disposable {
  readonly #onChange: () => void;
  readonly #watcher: Deno.FsWatcher | undefined;
  readonly #timer: ReturnType<typeof setInterval>;
  #pending = false;
  #closed = false;

  constructor(path: string, onChange: () => void, pollMs = FALLBACK_POLL_MS) {
    this.#onChange = onChange;
    this.#timer = setInterval(() => this.#fire(), pollMs);
    try {
      // Active once this returns: no change after it goes unseen.
      this.#watcher = Deno.watchFs(path, { recursive: false });
    } catch {
      // No watch possible (path gone, watch limit reached): polling only.
      return;
    }
    this.#listen(this.#watcher);
  }

  async #listen(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const _ of watcher) this.#fire();
    } catch { /* the watched path went away: polling goes on */ }
  }

  #fire(): void {
    if (this.#pending || this.#closed) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      if (!this.#closed) this.#onChange();
    });
  }

  /** Stops watching. */
  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      this.#watcher?.close();
    } catch { /* already closed */ }
  }
}
