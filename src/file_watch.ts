/**
 * Wakes the file backend when something changes in the directories or
 * files it watches: by file-system events (inotify on Linux, which also
 * reports the close of a killed process's files), with a bounded poll as
 * the fallback for events a platform does not deliver.
 *
 * @module
 */

/** How often a watch checks even without events, in ms. */
export const FALLBACK_POLL_MS = 500;

/** The poll period of Watches made without one; see withPollMs. */
let defaultPollMs = FALLBACK_POLL_MS;

/**
 * Returns `make()`, with the Watches made during that call polling every
 * `pollMs` instead of FALLBACK_POLL_MS. For tests only, and not exported
 * from mod.ts: the poll hides a wakeup that events alone fail to bring,
 * making it half a second late instead of missing, so a test that must
 * catch such a miss pushes the poll out of its reach. A Locker makes its
 * file backend's Watch in its constructor, so `make` can be that.
 *
 * @example
 * ```ts ignore
 * const locker = withPollMs(3_600_000, () => new Locker({ url }));
 * ```
 */
export function withPollMs<T>(pollMs: number, make: () => T): T {
  const before = defaultPollMs;
  defaultPollMs = pollMs;
  try {
    return make();
  } finally {
    defaultPollMs = before;
  }
}

/**
 * Calls `onChange(path)` soon after something changes at or directly under
 * one of its paths, and `onChange(undefined)` (look at everything) at least
 * every FALLBACK_POLL_MS (see withPollMs) and whenever the set of paths changes. All paths share one
 * OS watch (Linux allows 128 per user by default). Bursts of events cost one
 * call per path.
 *
 * @example
 * ```ts ignore
 * using watch = new Watch((path) => check(path));
 * watch.add("/var/lock/turn/printer");
 * ```
 */
export class Watch implements Disposable {
  readonly #onChange: (path: string | undefined) => void;
  // Read once: withPollMs() sets it only while a Watch is being made.
  readonly #pollMs = defaultPollMs;
  readonly #paths = new Set<string>();
  readonly #due = new Set<string | undefined>();
  #watcher: Deno.FsWatcher | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #starting: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(onChange: (path: string | undefined) => void) {
    this.#onChange = onChange;
  }

  /** Watches `path` too. */
  add(path: string): void {
    if (this.#closed || this.#paths.has(path)) return;
    this.#paths.add(path);
    this.#restart();
  }

  /** Stops watching `path`. */
  delete(path: string): void {
    if (this.#paths.delete(path)) this.#restart();
  }

  #restart(): void {
    this.#stopWatcher();
    clearTimeout(this.#starting);
    if (this.#paths.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    this.#timer ??= setInterval(() => this.#fire(undefined), this.#pollMs);
    // Deno finishes closing a watcher after the current task: a new watch of
    // a path removed and made again in the same task never hears a thing.
    this.#starting = setTimeout(() => this.#start(), 0);
  }

  #start(): void {
    if (this.#closed) return;
    try {
      // Active once this returns; what changed before is looked at below.
      this.#watcher = Deno.watchFs([...this.#paths], { recursive: false });
      this.#listen(this.#watcher);
    } catch {
      // No watch possible (a path is gone, or the OS limit is reached):
      // the poll goes on, and the next change of paths tries again.
    }
    this.#fire(undefined);
  }

  async #listen(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        for (const path of event.paths) this.#fire(path);
      }
    } catch { /* a watched path went away: the poll goes on */ }
  }

  #fire(path: string | undefined): void {
    if (this.#closed) return;
    if (this.#due.size === 0) queueMicrotask(() => this.#flush());
    this.#due.add(path);
  }

  #flush(): void {
    const due = [...this.#due];
    this.#due.clear();
    if (this.#closed) return;
    if (due.includes(undefined)) return this.#onChange(undefined);
    for (const path of due) this.#onChange(path);
  }

  #stopWatcher(): void {
    try {
      this.#watcher?.close();
    } catch { /* already closed */ }
    this.#watcher = undefined;
  }

  /** Stops watching everything. */
  [Symbol.dispose](): void {
    this.#closed = true;
    this.#paths.clear();
    this.#stopWatcher();
    clearTimeout(this.#starting);
    clearInterval(this.#timer);
  }
}
