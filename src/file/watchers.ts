/**
 * Which of an engine's tickets watch which paths, over one Watch: when a
 * path changes, the tickets it can matter to look at their queue again, and
 * no others.
 *
 * @module
 */

import { isTempName, numberOfPresenceName, parentDir } from "./layout.ts";
import { Watch } from "./watch.ts";

/**
 * What a ticket watches: its own presence file, that of the nearest live
 * user ahead while it waits, and its queue's directory if it reports its
 * place.
 */
export interface Aims {
  own?: string;
  ahead?: string;
  queue?: string;
}

/** A ticket as the watchers know it: by its number. */
export interface Numbered {
  readonly number: number;
}

/**
 * Calls `check(ticket, patient)` for the tickets a change can matter to;
 * `patient` is false for a change in a directory (see Checks).
 */
export class Watchers<T extends Numbered> implements Disposable {
  readonly #check: (ticket: T, patient: boolean) => void;
  /** The paths each ticket watches, by what they are to it. */
  readonly #aims = new Map<T, Aims>();
  /** Tickets by the path they watch: a presence file, or a directory. */
  readonly #watched = new Map<string, Set<T>>();
  readonly #watch: Watch;

  /** `pollMs`: how often to look at everything even without events. */
  constructor(check: (ticket: T, patient: boolean) => void, pollMs?: number) {
    this.#check = check;
    this.#watch = new Watch((path) => this.#onChange(path), pollMs);
  }

  /** Has `ticket` watch `path` as its `what`, instead of the last one. */
  aim(ticket: T, what: keyof Aims, path: string | undefined): void {
    let aims = this.#aims.get(ticket);
    if (aims === undefined) this.#aims.set(ticket, aims = {});
    const before = aims[what];
    if (before === path) return;
    aims[what] = path;
    if (path !== undefined) this.#follow(ticket, path);
    if (before !== undefined) this.#unfollow(ticket, before);
  }

  /** Stops watching anything for `ticket`. */
  drop(ticket: T): void {
    const aims = this.#aims.get(ticket);
    this.#aims.delete(ticket);
    for (const path of Object.values(aims ?? {})) {
      this.#unfollow(ticket, path);
    }
  }

  #follow(ticket: T, path: string): void {
    let tickets = this.#watched.get(path);
    if (tickets === undefined) {
      this.#watched.set(path, tickets = new Set());
      this.#watch.add(path);
    }
    tickets.add(ticket);
  }

  #unfollow(ticket: T, path: string): void {
    const tickets = this.#watched.get(path);
    if (!tickets?.delete(ticket) || tickets.size > 0) return;
    this.#watched.delete(path);
    this.#watch.delete(path);
  }

  /**
   * Checks the tickets watching `path` or its directory, or all. A waiter
   * need hear only of the user ahead of it: when that one leaves or dies,
   * its presence file closes or goes. In a directory, a file being written,
   * or the presence of a user behind a ticket, cannot change what that
   * ticket finds: every step that matters to it ends with a change of the
   * state file or of a presence up to its own number.
   */
  #onChange(path: string | undefined): void {
    if (path === undefined) {
      for (const ticket of this.#aims.keys()) this.#check(ticket, true);
      return;
    }
    this.#watched.get(path)?.forEach((ticket) => this.#check(ticket, true));
    const dir = parentDir(path);
    const tickets = this.#watched.get(dir);
    if (tickets === undefined) return;
    const name = path.slice(dir.length + 1);
    if (isTempName(name)) return;
    const behind = numberOfPresenceName(name) ?? 0;
    for (const ticket of tickets) {
      if (behind <= ticket.number) this.#check(ticket, false);
    }
  }

  /** Stops the watch. */
  [Symbol.dispose](): void {
    this.#watch[Symbol.dispose]();
    this.#watched.clear();
  }
}
