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

/**
 * Calls `onChange(path)` soon after something changes at `path` (a file) or
 * directly under it (a directory), for each path it watches, and
 * `onChange(undefined)` (look at everything) at least every
 * `pollMs` (FALLBACK_POLL_MS unless a test says otherwise, see
 * FILE_POLL_MS in backend.ts). Each path has its own watcher, so
 * adding or dropping one leaves the others listening; Deno serves them all
 * from one OS watch per process (Linux allows 128 per user by default).
 * After a path's watcher starts, `onChange(path)` is called once, for what
 * changed before. Bursts of events cost one call per path.
 *
 * @example
 * ```ts ignore
 * using watch = new Watch((path) => check(path));
 * watch.add("/var/lock/turn/printer");
 * ```
 */
export class Watch implements Disposable {
  readonly #onChange: (path: string | undefined) => void;
  readonly #pollMs: number;
  readonly #paths = new Map<string, PathWatch>();
  readonly #due = new Set<string | undefined>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(
    onChange: (path: string | undefined) => void,
    pollMs: number = FALLBACK_POLL_MS,
  ) {
    this.#onChange = onChange;
    this.#pollMs = pollMs;
  }

  /** Watches `path` too. */
  add(path: string): void {
    if (this.#closed || this.#paths.has(path)) return;
    const watch: PathWatch = {};
    this.#paths.set(path, watch);
    this.#timer ??= setInterval(() => this.#fire(undefined), this.#pollMs);
    // Deno finishes closing a watcher after the current task: a new watch of
    // a path removed and made again in the same task never hears a thing.
    watch.starting = setTimeout(() => this.#start(path, watch), 0);
  }

  /** Stops watching `path`. */
  delete(path: string): void {
    const watch = this.#paths.get(path);
    if (watch === undefined) return;
    this.#paths.delete(path);
    stop(watch);
    if (this.#paths.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(path: string, watch: PathWatch): void {
    watch.starting = undefined;
    try {
      // Active once this returns; what changed before is looked at below.
      watch.watcher = Deno.watchFs(path, { recursive: false });
      this.#listen(path, watch.watcher);
    } catch {
      // No watch possible (the path is gone, or the OS limit is reached):
      // the look below finds out what happened, and the poll goes on.
    }
    this.#fire(path);
  }

  async #listen(path: string, watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        for (const changed of event.paths) this.#fire(changed);
      }
    } catch { /* the path went away: the poll goes on */ }
    // The watcher ended without being stopped (its path went away): a look.
    if (this.#paths.get(path)?.watcher === watcher) this.#fire(path);
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

  /** Stops watching everything. */
  [Symbol.dispose](): void {
    this.#closed = true;
    this.#paths.forEach(stop);
    this.#paths.clear();
    clearInterval(this.#timer);
  }
}

/** One watched path: its watcher once started. */
interface PathWatch {
  starting?: ReturnType<typeof setTimeout>;
  watcher?: Deno.FsWatcher;
}

function stop(watch: PathWatch): void {
  clearTimeout(watch.starting);
  try {
    watch.watcher?.close();
  } catch { /* already closed */ }
}
