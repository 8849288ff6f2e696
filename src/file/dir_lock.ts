/**
 * The exclusive lock on a resource's directory under which every step of
 * the file backend runs, so that steps of different processes never
 * interleave.
 *
 * @module
 */

import { isNotFound } from "./io.ts";

/**
 * A held lock on a resource's directory; disposing releases it.
 *
 * @example
 * ```ts ignore
 * using held = await lockDir(root, dir, true);
 * ```
 */
export class DirLock implements Disposable {
  readonly #file: Deno.FsFile;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Releases the lock. */
  [Symbol.dispose](): void {
    this.#file.close();
  }
}

function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Locks the directory `dir` (under `root`) exclusively. With `create`, makes
 * it (and the root) first; without, resolves to `undefined` when it does not
 * exist. A directory removed (and perhaps made again) while this call waited
 * is not the one locked: the call starts over on whatever is there now.
 * Without `wait`, resolves to `"busy"` at once if a step holds the lock.
 */
export async function lockDir(
  root: string,
  dir: string,
  create: boolean,
  wait = true,
): Promise<DirLock | undefined | "busy"> {
  for (;;) {
    if (create) {
      Deno.mkdirSync(root, { recursive: true });
      try {
        Deno.mkdirSync(dir);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
    }
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(dir);
    } catch (error) {
      if (isNotFound(error) && !create) return undefined;
      if (isNotFound(error)) continue;
      throw error;
    }
    try {
      // Steps are short: wait (off the main thread) only if one is running.
      if (!file.tryLockSync(true)) {
        if (!wait) {
          file.close();
          return "busy";
        }
        await file.lock(true);
      }
      const held = file.statSync();
      const now = statOrUndefined(dir);
      if (now?.ino === held.ino && now?.dev === held.dev) {
        return new DirLock(file);
      }
      file.close();
      if (now === undefined && !create) return undefined;
    } catch (error) {
      file.close();
      throw error;
    }
  }
}
