/**
 * A user's presence in the file backend: a file named after its number,
 * holding its label, that its owner keeps locked (shared) for as long as it
 * waits or holds. The OS drops the lock when the process dies, however it
 * dies, so nobody has to wait for a TTL to find out. The lock is shared so
 * that the owner can lend it: a child process that holds a shared lock on
 * the same file (`flock -s`) keeps the user live after the owner is gone,
 * until it ends too, as flock(1)'s inherited descriptor does.
 *
 * @module
 */

import { presencePath, type ResourcePaths, tempPath } from "./layout.ts";
import { isNotFound, removeQuietly, writeAll } from "./io.ts";

/** A presence file this process owns and keeps locked. */
export class Presence {
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #ino: number | null;
  #closed = false;

  constructor(path: string, file: Deno.FsFile, ino: number | null) {
    this.path = path;
    this.#file = file;
    this.#ino = ino;
  }

  /** Whether the file at `path` is still this one (nobody removed it). */
  isMine(): boolean {
    if (this.#closed) return false;
    try {
      return Deno.statSync(this.path).ino === this.#ino;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Removes the file if it is still this one, and drops the lock. */
  remove(): void {
    if (this.#closed) return;
    if (this.isMine()) removeQuietly(this.path);
    this.close();
  }

  /** Drops the lock, leaving the file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}

/**
 * Creates and locks user `n`'s presence file holding `label`. It is written
 * and locked under a temporary name and renamed into place, so nobody ever
 * sees it empty or unlocked. It stays open for writing: when it is closed,
 * by `close()` or by the death of the process, file watchers hear of it.
 */
export function createPresence(
  paths: ResourcePaths,
  n: number,
  label: string,
): Presence {
  const path = presencePath(paths, n);
  const temp = tempPath(path);
  const file = Deno.openSync(temp, {
    read: true,
    write: true,
    createNew: true,
  });
  try {
    if (!file.tryLockSync(false)) {
      throw new Error(`cannot lock the new presence file ${temp}`);
    }
    writeAll(file, new TextEncoder().encode(label));
    const { ino } = file.statSync();
    Deno.renameSync(temp, path);
    return new Presence(path, file, ino);
  } catch (error) {
    file.close();
    removeQuietly(temp);
    throw error;
  }
}

/**
 * Whether a presence file exists and someone holds a lock on it: its owner,
 * or a process the owner lent it to. A probe tries an exclusive lock, which
 * only a file nobody holds allows. Probes never take each other for an
 * owner: one that finds another probe's exclusive lock tries again, and one
 * that gets a shared lock tries to make it exclusive, which succeeds unless
 * someone else shares it. (Two probes both between those steps each see the
 * other as an owner: "live", the safe answer, and the next event or poll
 * looks again.)
 */
export function isLive(path: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path);
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  try {
    for (let tries = 0; tries < PROBE_TRIES; tries++) {
      if (file.tryLockSync(true)) return false;
      if (file.tryLockSync(false)) return !file.tryLockSync(true);
    }
    // Only a probe holds an exclusive lock, and only for a moment, but an
    // undecided probe answers "live": that is never unsafe.
    return true;
  } finally {
    file.close();
  }
}

// Each try is two system calls; another probe's exclusive lock lasts a few.
const PROBE_TRIES = 1_000;

/** The label in a presence file, or `undefined` if it is gone. */
export function readLabel(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The nearest number below `n`, down to `head`, whose user is live, or
 * `undefined` if none is.
 */
export function liveAhead(
  paths: ResourcePaths,
  head: number,
  n: number,
): number | undefined {
  for (let m = n - 1; m >= head; m--) {
    if (isLive(presencePath(paths, m))) return m;
  }
  return undefined;
}
