/**
 * One atomic step on a resource's queue in the file backend: the
 * counterpart of one Lua script of the Redis backend, with the same rules
 * (see PROTOCOL.md). A step runs under the exclusive lock on the resource's
 * directory, changes the counters in memory, and on `commit()` writes them
 * (or removes the directory of a queue gone idle) and delivers its messages.
 *
 * @module
 */

import {
  entryPath,
  isTempName,
  numberOfPresenceName,
  presencePath,
  type ResourcePaths,
} from "./layout.ts";
import { type DirLock, lockDir } from "./dir_lock.ts";
import { type Counters, readState, writeState } from "./state.ts";
import { isLive, type Presence } from "./presence.ts";
import { publish } from "./events.ts";
import { entriesOf, isNotFound, removeQuietly } from "./io.ts";
import { type EventKind, formatMessage } from "../messages.ts";

/**
 * Rebuilds lost or damaged counters from the presence files: the dispenser
 * is the highest number drawn, the indicator the lowest live one.
 */
export function recoverCounters(
  paths: ResourcePaths,
): Counters | undefined {
  let dispenser = 0;
  let indicator = Infinity;
  for (const name of entriesOf(paths.dir)) {
    const n = numberOfPresenceName(name);
    if (n === undefined) continue;
    dispenser = Math.max(dispenser, n);
    if (n < indicator && isLive(presencePath(paths, n))) indicator = n;
  }
  // Nobody live: the queue is idle, and idle queues have no counters.
  if (indicator === Infinity) return undefined;
  return { indicator, dispenser };
}

/** A step on one resource's queue, holding the lock on its directory. */
export class QueueStep implements Disposable {
  readonly paths: ResourcePaths;
  /** The queue's counters; `undefined` when it has none (idle). */
  counters: Counters | undefined;
  readonly #lock: DirLock | undefined;
  readonly #messages: string[] = [];
  #changed = false;

  private constructor(
    paths: ResourcePaths,
    lock: DirLock | undefined,
    counters: Counters | undefined,
    changed: boolean,
  ) {
    this.paths = paths;
    this.#lock = lock;
    this.counters = counters;
    this.#changed = changed;
  }

  /**
   * Locks the resource's directory (making it with `create`) and reads its
   * counters. A resource without a directory gives a step with no counters
   * that can still say things.
   */
  static async open(
    paths: ResourcePaths,
    create: boolean,
  ): Promise<QueueStep> {
    const lock = await lockDir(paths.root, paths.dir, create);
    return QueueStep.#begin(paths, lock as DirLock | undefined);
  }

  /**
   * Like `open` without `create`, but resolves to `undefined` at once when
   * another step holds the lock.
   */
  static async tryOpen(paths: ResourcePaths): Promise<QueueStep | undefined> {
    const lock = await lockDir(paths.root, paths.dir, false, false);
    return lock === "busy" ? undefined : QueueStep.#begin(paths, lock);
  }

  static #begin(paths: ResourcePaths, lock: DirLock | undefined): QueueStep {
    if (lock === undefined) {
      return new QueueStep(paths, undefined, undefined, false);
    }
    try {
      const state = readState(paths);
      if (state.kind === "ok") {
        return new QueueStep(paths, lock, state, false);
      }
      // A damaged state file (or none, beside presence files) is rebuilt.
      const counters = recoverCounters(paths);
      return new QueueStep(paths, lock, counters, counters !== undefined);
    } catch (error) {
      lock[Symbol.dispose]();
      throw error;
    }
  }

  /** Whether the resource's directory exists (and is locked). */
  get exists(): boolean {
    return this.#lock !== undefined;
  }

  /** Queues a message, delivered on commit. */
  say(kind: EventKind, n?: number, label?: string, fence?: bigint): void {
    this.#messages.push(
      formatMessage(this.paths.resource, kind, n, label, fence),
    );
  }

  /** Sets the counters; `undefined` makes the queue idle. */
  set(counters: Counters | undefined): void {
    this.counters = counters;
    this.#changed = true;
  }

  /** Whether user `m` is live: its presence file exists and is locked. */
  alive(m: number): boolean {
    return isLive(presencePath(this.paths, m));
  }

  /** Live users among numbers `from` to `to`. */
  liveBetween(from: number, to: number): number {
    let live = 0;
    for (let m = from; m <= to; m++) if (this.alive(m)) live++;
    return live;
  }

  /**
   * Hands the turn to the first live number from `from`, removing the
   * presence files of dead users on the way; past the dispenser, the queue
   * becomes idle.
   */
  handOver(from: number): number {
    const dispenser = this.counters?.dispenser ?? 0;
    let m = from;
    while (m <= dispenser && !this.alive(m)) {
      removeQuietly(presencePath(this.paths, m));
      m++;
    }
    this.say("granted", m);
    this.set(m > dispenser ? undefined : { indicator: m, dispenser });
    return m;
  }

  /** Skips a head of the queue whose owner is gone. */
  settle(): void {
    const counters = this.counters;
    if (counters === undefined) return;
    const { indicator, dispenser } = counters;
    if (indicator <= dispenser && !this.alive(indicator)) {
      this.handOver(indicator);
    }
  }

  /** Whether `presence` owns user `n`'s place: the file there is its own. */
  owns(presence: Presence): boolean {
    return this.exists && presence.isMine();
  }

  /** Whether no file is at user `n`'s presence path. */
  absent(n: number): boolean {
    try {
      Deno.lstatSync(presencePath(this.paths, n));
      return false;
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
  }

  /**
   * Writes the counters (an idle queue's directory is removed with all it
   * holds), then delivers the step's messages, still under the lock so
   * each resource's messages keep their order.
   */
  commit(): void {
    if (this.#lock !== undefined) {
      if (this.counters === undefined) this.#removeDir();
      else if (this.#changed) writeState(this.paths, this.counters);
    }
    this.#changed = false;
    const messages = this.#messages.splice(0);
    publish(this.paths.root, this.paths.resource, messages);
  }

  #removeDir(): void {
    // Under the lock nobody else writes here: what remains is the state,
    // dead users' presence files and temporary files left by a crash.
    for (const name of entriesOf(this.paths.dir)) {
      const path = entryPath(this.paths.dir, name);
      if (isTempName(name) || !isLive(path)) {
        removeQuietly(path);
      }
    }
    removeQuietly(this.paths.dir);
  }

  /** Releases the lock on the directory. */
  [Symbol.dispose](): void {
    this.#lock?.[Symbol.dispose]();
  }
}
