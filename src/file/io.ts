/**
 * The few file operations the file backend's steps are made of. They are
 * synchronous on purpose: each takes microseconds on a local disk, where a
 * round trip through Deno's thread pool costs ten times that, and a step
 * runs them under the directory lock that every other user is waiting for.
 * Only waiting for that lock is asynchronous.
 *
 * @module
 */

import { tempPath } from "./layout.ts";

/** Whether `error` says a file or directory does not exist. */
export function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

/** Removes `path` if it is there; a file already gone is no error. */
export function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* gone already, or a directory not empty: left as it is */ }
}

/** The names in directory `dir`; none if it does not exist. */
export function entriesOf(dir: string): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) names.push(entry.name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return names;
}

/** Writes every byte of `bytes` to `file`. */
export function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length;) {
    written += file.writeSync(bytes.subarray(written));
  }
}

/** Writes `text` to `path` through a temporary file and a rename. */
export function writeWhole(path: string, text: string): void {
  const temp = tempPath(path);
  try {
    Deno.writeTextFileSync(temp, text);
    Deno.renameSync(temp, path);
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
}
