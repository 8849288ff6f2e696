/**
 * The file backend's stand-in for pub/sub: every follower has an inbox file
 * under `<root>/.follow/`, which it keeps locked while it follows; each step
 * that says something appends its messages to every inbox.
 *
 * @module
 */

import {
  followDir,
  formatInboxLines,
  inboxPath,
  isTempName,
  newInboxPath,
  parseInboxLine,
} from "./layout.ts";
import { entriesOf, removeQuietly, writeAll } from "./io.ts";
import type { EventSource, StartEvents } from "../follow.ts";
import { Watch } from "./watch.ts";
import { Inbox, MAX_INBOX_BYTES } from "./inbox.ts";

const encoder = new TextEncoder();

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
  const bytes = encoder.encode(formatInboxLines(resource, messages));
  for (const name of inboxNames(root)) {
    if (isTempName(name)) continue;
    let inbox: Deno.FsFile;
    try {
      inbox = Deno.openSync(inboxPath(root, name), { append: true });
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

/** Whether anyone follows the resources under `root`, or did and died. */
export function hasFollowers(root: string): boolean {
  return inboxNames(root).some((name) => !isTempName(name));
}

/** Removes the inboxes of followers that died without cleaning up. */
function removeDeadInboxes(root: string): void {
  for (const name of inboxNames(root)) {
    const path = inboxPath(root, name);
    try {
      using inbox = Deno.openSync(path, { read: true, write: true });
      if (inbox.tryLockSync(true)) Deno.removeSync(path);
    } catch { /* gone already, or not ours to judge */ }
  }
}

/** Passes on the lines of `resources` (all when `undefined`). */
function lineParser(
  resources: readonly string[] | undefined,
  emit: (resource: string, message: string) => void,
): (line: string) => void {
  const wanted = resources && new Set(resources);
  return (line) => {
    const parsed = parseInboxLine(line);
    if (parsed === undefined) return;
    const { resource, message } = parsed;
    if (!wanted || wanted.has(resource)) emit(resource, message);
  };
}

/**
 * A Follow's source for the file backend: the messages of `resources`
 * (every resource when `undefined`) from a fresh inbox under `root`.
 */
export function inboxEvents(
  root: string,
  resources: readonly string[] | undefined,
  maxInboxBytes = MAX_INBOX_BYTES,
): StartEvents {
  return (emit): EventSource => {
    let stopped = false;
    let cleanup: (() => void) | undefined;
    const ready = (async () => {
      await Deno.mkdir(root, { recursive: true });
      removeDeadInboxes(root);
      const inbox = new Inbox(newInboxPath(root), maxInboxBytes);
      const take = lineParser(resources, emit);
      const watch: Watch = new Watch(() => {
        if (!inbox.read(take)) return;
        // A new file at the same path: watch that one.
        watch.delete(inbox.path);
        watch.add(inbox.path);
      });
      watch.add(inbox.path);
      cleanup = () => {
        watch[Symbol.dispose]();
        inbox[Symbol.dispose]();
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
