/**
 * A user's presence in the file backend: a file named after its number,
 * holding its label, that its owner keeps locked for as long as it waits or
 * holds. The OS drops the lock when the process dies, however it dies, so
 * nobody has to wait for a TTL to find out.
 *
 * @module
 */

import { presencePath, type ResourcePaths, tempName } from "./file_layout.ts";

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
  async isMine(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      return (await Deno.stat(this.path)).ino === this.#ino;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  /** Removes the file if it is still this one, and drops the lock. */
  async remove(): Promise<void> {
    if (this.#closed) return;
    if (await this.isMine()) await Deno.remove(this.path).catch(() => {});
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
export async function createPresence(
  paths: ResourcePaths,
  n: number,
  label: string,
): Promise<Presence> {
  const path = presencePath(paths, n);
  const temp = `${paths.dir}/${tempName(String(n))}`;
  const file = await Deno.open(temp, {
    read: true,
    write: true,
    createNew: true,
  });
  try {
    if (!await file.tryLock(true)) {
      throw new Error(`cannot lock the new presence file ${temp}`);
    }
    await writeAll(file, new TextEncoder().encode(label));
    const { ino } = await file.stat();
    await Deno.rename(temp, path);
    return new Presence(path, file, ino);
  } catch (error) {
    file.close();
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Writes every byte of `bytes` to `file`. */
export async function writeAll(
  file: Deno.FsFile,
  bytes: Uint8Array,
): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}

/**
 * Whether a presence file exists and its owner is alive (holds its lock). A
 * probe takes a shared lock, so two probes never mistake each other for an
 * owner; an owner holds it exclusively.
 */
export async function isLive(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  try {
    return !await file.tryLock(false);
  } finally {
    file.close();
  }
}

/** The label in a presence file, or `undefined` if it is gone. */
export async function readLabel(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
