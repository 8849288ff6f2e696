/**
 * The file backend's stand-in for pub/sub: every follower has an inbox file
 * under `<root>/.follow/`, which it keeps locked while it follows; each step
 * that says something appends its messages to every inbox.
 *
 * @module
 */

import { FOLLOW_DIR, TEMP_MARK, tempName } from "./file_layout.ts";
import { entriesOf, isNotFound, removeQuietly, writeAll } from "./file_io.ts";
import type { EventSource, StartEvents } from "./follow.ts";
import { Watch } from "./file_watch.ts";

const encoder = new TextEncoder();

function followDir(root: string): string {
  return `${root}/${FOLLOW_DIR}`;
}

function inboxNames(root: string): string[] {
  return entriesOf(followDir(root));
}

/**
 * Appends `messages` of `resource` to every follower's inbox, as one write
 * per inbox, so one step's messages stay together and in order.
 */
export function publish(
  root: string,
  resource: string,
  messages: readonly string[],
): void {
  if (messages.length === 0) return;
  const bytes = encoder.encode(
    messages.map((m) => `${JSON.stringify([resource, m])}\n`).join(""),
  );
  for (const name of inboxNames(root)) {
    if (name.includes(TEMP_MARK)) continue;
    let inbox: Deno.FsFile;
    try {
      inbox = Deno.openSync(`${followDir(root)}/${name}`, { append: true });
    } catch {
      continue; // The follower has just stopped.
    }
    try {
      writeAll(inbox, bytes);
    } catch {
      /* a follower's full disk must not fail the step */
    } finally {
      inbox.close();
    }
  }
}

/** Removes the inboxes of followers that died without cleaning up. */
function removeDeadInboxes(root: string): void {
  for (const name of inboxNames(root)) {
    const path = `${followDir(root)}/${name}`;
    try {
      using inbox = Deno.openSync(path, { read: true, write: true });
      if (inbox.tryLockSync(true)) Deno.removeSync(path);
    } catch { /* gone already, or not ours to judge */ }
  }
}

/** Makes and locks a new inbox; renamed into place only once locked. */
async function createInbox(
  root: string,
): Promise<{ path: string; file: Deno.FsFile }> {
  const dir = followDir(root);
  for (;;) {
    await Deno.mkdir(dir, { recursive: true });
    const id = crypto.randomUUID();
    const temp = `${dir}/${tempName(id)}`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(temp, {
        read: true,
        createNew: true,
        write: true,
      });
    } catch (error) {
      // The directory was removed by a follower that stopped: make it again.
      if (isNotFound(error)) continue;
      throw error;
    }
    try {
      if (await file.tryLock(true)) {
        await Deno.rename(temp, `${dir}/${id}`);
        return { path: `${dir}/${id}`, file };
      }
    } catch { /* removed in between by a cleaner: try again */ }
    file.close();
  }
}

/** Reads an inbox's new lines as they arrive. */
class InboxReader {
  readonly #file: Deno.FsFile;
  readonly #emit: (resource: string, message: string) => void;
  readonly #wanted: ReadonlySet<string> | undefined;
  readonly #decoder = new TextDecoder();
  readonly #buffer = new Uint8Array(64 * 1024);
  #partial = "";
  #reading = false;
  #again = false;

  constructor(
    file: Deno.FsFile,
    wanted: readonly string[] | undefined,
    emit: (resource: string, message: string) => void,
  ) {
    this.#file = file;
    this.#wanted = wanted && new Set(wanted);
    this.#emit = emit;
  }

  /** Reads to the end; a call during a read makes that read go on. */
  async drain(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    try {
      do {
        this.#again = false;
        for (;;) {
          const read = await this.#file.read(this.#buffer);
          if (read === null || read === 0) break;
          this.#take(this.#buffer.subarray(0, read));
        }
      } while (this.#again);
    } catch {
      /* closed while reading */
    } finally {
      this.#reading = false;
    }
  }

  #take(bytes: Uint8Array): void {
    const lines = (this.#partial +
      this.#decoder.decode(bytes, { stream: true })).split("\n");
    this.#partial = lines.pop()!;
    for (const line of lines) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      if (!Array.isArray(parsed)) continue;
      const [resource, message] = parsed;
      if (typeof resource !== "string" || typeof message !== "string") continue;
      if (this.#wanted && !this.#wanted.has(resource)) continue;
      this.#emit(resource, message);
    }
  }
}

/**
 * A Follow's source for the file backend: the messages of `resources`
 * (every resource when `undefined`) from a fresh inbox under `root`.
 */
export function inboxEvents(
  root: string,
  resources: readonly string[] | undefined,
): StartEvents {
  return (emit): EventSource => {
    let stopped = false;
    let cleanup: (() => void) | undefined;
    const ready = (async () => {
      await Deno.mkdir(root, { recursive: true });
      removeDeadInboxes(root);
      const { path, file } = await createInbox(root);
      const reader = new InboxReader(file, resources, emit);
      const watch = new Watch(() => void reader.drain());
      watch.add(path);
      cleanup = () => {
        watch[Symbol.dispose]();
        removeQuietly(path);
        file.close();
        // The last follower takes the directory along (fails if others remain).
        removeQuietly(followDir(root));
      };
      if (stopped) cleanup();
    })();
    return {
      ready,
      stop() {
        if (stopped) return;
        stopped = true;
        cleanup?.();
      },
    };
  };
}
