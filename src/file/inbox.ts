/**
 * A follower's inbox in the file backend: a file under `<root>/.follow/`
 * that publishers append message lines to and the follower reads. The
 * follower keeps it locked, so others can tell a dead follower's inbox. It
 * is never truncated (publishers append without a lock); once it has grown
 * past a limit and has been read, a fresh empty file is renamed over it,
 * and the old one is still read for a grace period in case a publisher
 * opened it just before.
 *
 * @module
 */

import { parentDir, tempPath } from "./layout.ts";
import { isNotFound, removeQuietly } from "./io.ts";

/** Size past which an inbox that has been read is replaced, in bytes. */
export const MAX_INBOX_BYTES = 1 << 20;

/** How long a replaced inbox is still read, in ms. */
export const RETIRED_INBOX_GRACE_MS = 10_000;

/**
 * Makes an empty file at `path`, locked exclusively by this process. It is
 * locked under a temporary name and renamed into place (over any file
 * there), so nobody finds it unlocked and takes it for a dead one's.
 */
function createLocked(path: string): Deno.FsFile {
  const dir = parentDir(path);
  for (;;) {
    Deno.mkdirSync(dir, { recursive: true });
    const temp = tempPath(path);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(temp, { read: true, write: true, createNew: true });
    } catch (error) {
      // The directory was removed by a follower that stopped: make it again.
      if (isNotFound(error)) continue;
      throw error;
    }
    try {
      if (file.tryLockSync(true)) {
        Deno.renameSync(temp, path);
        return file;
      }
    } catch { /* removed in between by a cleaner: try again */ }
    file.close();
    removeQuietly(temp);
  }
}

/** One inbox file being read, with the end of a line not complete yet. */
class InboxFile {
  readonly file: Deno.FsFile;
  readonly #decoder = new TextDecoder();
  #partial = "";
  /** Bytes read so far. */
  size = 0;

  constructor(file: Deno.FsFile) {
    this.file = file;
  }

  /** Reads to the end, passing on each complete line. */
  readLines(buffer: Uint8Array, take: (line: string) => void): void {
    for (;;) {
      const read = this.file.readSync(buffer);
      if (read === null || read === 0) return;
      this.size += read;
      const text = this.#partial +
        this.#decoder.decode(buffer.subarray(0, read), { stream: true });
      const lines = text.split("\n");
      this.#partial = lines.pop()!;
      lines.forEach(take);
    }
  }
}

/**
 * A follower's inbox.
 *
 * @example
 * ```ts ignore
 * using inbox = new Inbox(newInboxPath(root));
 * inbox.read((line) => console.log(line));
 * ```
 */
export class Inbox implements Disposable {
  readonly path: string;
  readonly #maxBytes: number;
  readonly #buffer = new Uint8Array(64 * 1024);
  #current: InboxFile;
  #retired: { readonly inbox: InboxFile; readonly until: number } | undefined;

  /** Makes and locks the inbox at `path`. */
  constructor(path: string, maxBytes = MAX_INBOX_BYTES) {
    this.path = path;
    this.#maxBytes = maxBytes;
    this.#current = new InboxFile(createLocked(path));
  }

  /**
   * Passes on every complete line that arrived since the last read, oldest
   * first. Returns true when it replaced the file, so a watch on the path
   * must start over.
   */
  read(take: (line: string) => void): boolean {
    const retired = this.#retired;
    if (retired) {
      // A publisher's late lines in the old file came before any in the new.
      retired.inbox.readLines(this.#buffer, take);
      if (Date.now() > retired.until) {
        retired.inbox.file.close();
        this.#retired = undefined;
      }
    }
    this.#current.readLines(this.#buffer, take);
    if (this.#current.size < this.#maxBytes || this.#retired) return false;
    this.#retired = {
      inbox: this.#current,
      until: Date.now() + RETIRED_INBOX_GRACE_MS,
    };
    this.#current = new InboxFile(createLocked(this.path));
    return true;
  }

  /** Removes the inbox. */
  [Symbol.dispose](): void {
    removeQuietly(this.path);
    this.#current.file.close();
    this.#retired?.inbox.file.close();
    this.#retired = undefined;
  }
}
