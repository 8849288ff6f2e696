/**
 * A user's presence in the file backend: a file named after its number,
 * holding its label, that its owner keeps locked for as long as it waits or
 * holds. The OS drops the lock when the process dies, however it dies, so
 * nobody has to wait for a TTL to find out.
 *
 * @module
 */

import { presencePath, type ResourcePaths, tempPath } from "./file_layout.ts";
import { isNotFound, removeQuietly, writeAll } from "./file_io.ts";

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
    if (!file.tryLockSync(true)) {
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
 * Whether a presence file exists and its owner is alive (holds its lock). A
 * probe takes a shared lock, so two probes never mistake each other for an
 * owner; an owner holds it exclusively.
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
    return !file.tryLockSync(false);
  } finally {
    file.close();
  }
}

/** The label in a presence file, or `undefined` if it is gone. */
export function readLabel(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
