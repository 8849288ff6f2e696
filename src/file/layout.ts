/**
 * The file backend's layout on disk, in one place: which directory and file
 * names a resource, its queue counters and its users get. PROTOCOL.md
 * ("The file backend") describes the same layout; the two must agree.
 *
 * ```
 * <root>/<name(r)>/state       {"resource","dispenser","indicator"}, replaced by rename
 * <root>/<name(r)>/<n>         presence of user n: its label; alive while its owner
 *                              (or a process it lent it to) holds a shared lock on it
 * <root>/<name(r)>/*.tmp-*     a file being written; left over only by a crash
 * <root>/.fence/<name(r)>      last fencing token of r: 20 decimal digits, written in
 *                              place under an exclusive lock; never removed with the queue
 * <root>/.follow/              followers' inboxes; made by the first, removed by the last
 * <root>/.follow/<id>          a follower's inbox (id: a random UUID), locked by its
 *                              follower; one line per message: JSON [resource, message]
 * <root>/.follow/*.tmp-*       an inbox being made or replaced
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The queue counters' file in a resource's directory. */
export const STATE_FILE = "state";

/** The directory of fencing tokens, under the root. */
export const FENCE_DIR = ".fence";

/** The directory of followers' inboxes, under the root. */
export const FOLLOW_DIR = ".follow";

/** Marks a file being written, before its rename to the final name. */
export const TEMP_MARK = ".tmp-";

/** Longest directory name used as is; longer ones are shortened and hashed. */
export const MAX_PLAIN_NAME = 200;
const HASHED_PREFIX = 120;

// Lower-case letters only, so that case-insensitive file systems (macOS,
// Windows) cannot fold two names together; "." never appears, so no name is
// ".", ".." or hidden like FOLLOW_DIR.
const SAFE_BYTE = /^[a-z0-9_-]$/;
const encoder = new TextEncoder();

function percentEncode(resource: string): string {
  let name = "";
  for (const byte of encoder.encode(resource)) {
    const char = String.fromCharCode(byte);
    name += SAFE_BYTE.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return name;
}

/**
 * The directory name of `resource`: its UTF-8 bytes, each byte outside
 * `a-z 0-9 _ -` written `%XX` (upper-case hex). Names longer than
 * MAX_PLAIN_NAME are cut to their first 120 characters (at a `%XX`
 * boundary) followed by `~` and the SHA-256 of the resource name in hex; the
 * encoding never produces `~`, so the two forms cannot collide.
 */
export function resourceDirName(resource: string): string {
  const name = percentEncode(resource);
  if (name.length <= MAX_PLAIN_NAME) return name;
  let cut = HASHED_PREFIX;
  const lastEscape = name.lastIndexOf("%", cut - 1);
  if (lastEscape > cut - 3) cut = lastEscape;
  const hash = createHash("sha256").update(resource).digest("hex");
  return `${name.slice(0, cut)}~${hash}`;
}

/**
 * The resource a directory name stands for, or `undefined` when the name is
 * hashed (the state file then holds the resource name) or is not one of
 * ours.
 */
export function resourceOfDirName(name: string): string | undefined {
  if (!/^(?:[a-z0-9_-]|%[0-9A-F]{2})+$/.test(name)) return undefined;
  try {
    const resource = decodeURIComponent(name);
    return resourceDirName(resource) === name ? resource : undefined;
  } catch {
    return undefined;
  }
}

/** The presence file name of number `n`. */
export function presenceName(n: number): string {
  return String(n);
}

/** The number a presence file name stands for, if it is one. */
export function numberOfPresenceName(name: string): number | undefined {
  return /^[1-9][0-9]*$/.test(name) ? Number(name) : undefined;
}

/**
 * What a shared queue's state adds: its capacity (0: no limit), the highest
 * number granted, and the numbers of its shared tickets (any other is
 * exclusive, so a number missing from the list never holds beside anyone).
 */
export interface PlacesRecord {
  readonly capacity: number;
  readonly granted: number;
  readonly shared: readonly number[];
}

/** What a state file holds: a queue's counters and its resource name. */
export interface StateRecord {
  readonly resource: string;
  /**
   * The number whose turn it is; in a shared queue, a number with no live
   * user below it.
   */
  readonly indicator: number;
  /** The last number handed out. */
  readonly dispenser: number;
  /** Shared queues only. */
  readonly places?: PlacesRecord;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) &&
    value >= 0;
}

// Files and lines on disk may be damaged: not JSON reads as undefined.
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The text of a state file: one JSON object and a newline. */
export function formatState(
  { resource, dispenser, indicator, places }: StateRecord,
): string {
  return `${JSON.stringify({ resource, dispenser, indicator, ...places })}\n`;
}

/**
 * The record of a state file's text, or `undefined` when the file is
 * damaged (not JSON, or a field missing or of the wrong kind).
 */
export function parseState(text: string): StateRecord | undefined {
  const parsed = parseJson(text);
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { resource, indicator, dispenser, capacity, granted, shared } =
    parsed as Record<string, unknown>;
  if (
    typeof resource !== "string" || !isCount(indicator) || !isCount(dispenser)
  ) return undefined;
  if (capacity === undefined) return { resource, indicator, dispenser };
  if (
    !isCount(capacity) || !isCount(granted) || !Array.isArray(shared) ||
    !shared.every(isCount)
  ) return undefined;
  return {
    resource,
    indicator,
    dispenser,
    places: { capacity, granted, shared },
  };
}

/** A fresh temporary name for writing `name` before renaming it into place. */
function tempName(name: string): string {
  return `${name}${TEMP_MARK}${crypto.randomUUID()}`;
}

/** Whether a directory entry is a file being written (see TEMP_MARK). */
export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARK);
}

/**
 * A fresh temporary path beside `path`, in the same directory, to write
 * before renaming it to `path`.
 */
export function tempPath(path: string): string {
  const dir = parentDir(path);
  return entryPath(dir, tempName(path.slice(dir.length + 1)));
}

/** The directory holding `path`: the inverse of entryPath. */
export function parentDir(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/** Paths of one resource under `root`. */
export interface ResourcePaths {
  readonly resource: string;
  readonly root: string;
  readonly dir: string;
  readonly state: string;
  /** The file of the last fencing token; outside `dir`, which goes when idle. */
  readonly fence: string;
}

/**
 * The paths of the resource directory `name` under `root`, standing for
 * `resource` (`""` while it is not known yet: a hashed name).
 */
export function pathsOfDirName(
  root: string,
  name: string,
  resource: string,
): ResourcePaths {
  const dir = `${root}/${name}`;
  const fence = entryPath(entryPath(root, FENCE_DIR), name);
  return { resource, root, dir, state: entryPath(dir, STATE_FILE), fence };
}

/** The paths of `resource` under `root`. */
export function resourcePaths(root: string, resource: string): ResourcePaths {
  return pathsOfDirName(root, resourceDirName(resource), resource);
}

/** The path of the entry `name` in the directory `dir`. */
export function entryPath(dir: string, name: string): string {
  return `${dir}/${name}`;
}

/** The path of user `n`'s presence file. */
export function presencePath(paths: ResourcePaths, n: number): string {
  return entryPath(paths.dir, presenceName(n));
}

/** The directory of followers' inboxes under `root`. */
export function followDir(root: string): string {
  return entryPath(root, FOLLOW_DIR);
}

/** The path of the inbox named `id` (an entry of followDir). */
export function inboxPath(root: string, id: string): string {
  return entryPath(followDir(root), id);
}

/** The path of a new follower's inbox: a random UUID as its name. */
export function newInboxPath(root: string): string {
  return inboxPath(root, crypto.randomUUID());
}

/**
 * The inbox lines of `messages` about `resource`: one JSON array
 * `[resource, message]` per message, each ending in a newline.
 */
export function formatInboxLines(
  resource: string,
  messages: readonly string[],
): string {
  return messages.map((m) => `${JSON.stringify([resource, m])}\n`).join("");
}

/** One message read from an inbox. */
export interface InboxMessage {
  readonly resource: string;
  readonly message: string;
}

/**
 * The message of one inbox line (without its newline), or `undefined` when
 * the line is not one formatInboxLines writes.
 */
export function parseInboxLine(line: string): InboxMessage | undefined {
  const parsed = parseJson(line);
  if (!Array.isArray(parsed)) return undefined;
  const [resource, message] = parsed;
  if (typeof resource !== "string" || typeof message !== "string") {
    return undefined;
  }
  return { resource, message };
}
