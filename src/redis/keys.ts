/**
 * The Redis key and channel names of a resource: turn 1.0's names, so turn
 * 1.0 clients and this module take turns on the same resource. PROTOCOL.md
 * describes them in prose; the two must agree.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Prefix of every key and channel. */
export const PREFIX = "turn";

/** Every key and channel name of one resource. */
export interface ResourceKeys {
  readonly resource: string;
  /** `turn:<r>:` (or `turn:{<r>}:`): what every name below begins with. */
  readonly base: string;
  /** `turn:<r>:dispenser`: last number handed out. */
  readonly dispenser: string;
  /** `turn:<r>:indicator`: number whose turn it is. */
  readonly indicator: string;
  /** `turn:<r>:serial:`: prefix of presence keys, followed by the number. */
  readonly presencePrefix: string;
  /** `turn:<r>:token:`: prefix of token keys, followed by the number. */
  readonly tokenPrefix: string;
  /** `turn:<r>:draw:`: prefix of draw keys, followed by a draw token. */
  readonly drawPrefix: string;
  /**
   * `turn:<r>:fence`: the last fencing token issued. Never deleted with the
   * queue, so tokens keep growing across idle periods and resets.
   */
  readonly fence: string;
  /** `turn:<r>:internal`: carries the presence key of the number granted. */
  readonly internal: string;
  /** `turn:<r>:external`: human-readable messages. */
  readonly external: string;
  /**
   * `turn:<r>:wake:`: prefix of the wake channels, followed by a Locker's
   * wake id. The scripts grant a waiter of this module on its Locker's one.
   */
  readonly wakePrefix: string;
}

/**
 * The key and channel names of a resource, built once and kept for the
 * resources used lately. With `hashTag`, the resource is wrapped in `{}` so
 * that all its keys share one Redis Cluster slot (not readable by turn 1.0
 * clients, whose names have no hash tag).
 */
export function resourceKeys(resource: string, hashTag = false): ResourceKeys {
  const cache = hashTag ? taggedKeys : plainKeys;
  let keys = cache.get(resource);
  if (keys === undefined) {
    keys = namesOf(resource, hashTag);
    // Past the bound, the names kept longest go; rebuilding costs little.
    if (cache.size >= KEYS_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(resource, keys);
  }
  return keys;
}

/**
 * How many resources' names are kept, with and without a hash tag each, so
 * that a lock on a resource used lately builds no strings for them.
 */
const KEYS_CACHED = 1024;
const plainKeys = new Map<string, ResourceKeys>();
const taggedKeys = new Map<string, ResourceKeys>();

function namesOf(resource: string, hashTag: boolean): ResourceKeys {
  // Redis hashes the text between the first `{` and the next `}`; an empty
  // tag hashes the whole key, which would scatter the resource over slots.
  if (hashTag && resource.startsWith("}")) {
    throw new RangeError(
      `resource must not start with "}" when keys carry a hash tag (Redis Cluster): got ${
        JSON.stringify(resource)
      }`,
    );
  }
  const base = `${PREFIX}:${hashTag ? `{${resource}}` : resource}:`;
  // Shared by every ticket on the resource: nobody may change them.
  return Object.freeze({
    resource,
    base,
    dispenser: `${base}dispenser`,
    indicator: `${base}indicator`,
    presencePrefix: `${base}serial:`,
    tokenPrefix: `${base}token:`,
    drawPrefix: `${base}draw:`,
    fence: `${base}fence`,
    internal: `${base}internal`,
    external: `${base}external`,
    wakePrefix: `${base}wake:`,
  });
}

/** The presence key of number `n`. */
export function presenceKey(keys: ResourceKeys, n: number): string {
  return `${keys.presencePrefix}${n}`;
}

/**
 * The token key of number `n`: it holds the draw token of the user who drew
 * `n` last. turn 1.0 never reads it; its presence stays a plain label.
 */
export function tokenKey(keys: ResourceKeys, n: number): string {
  return `${keys.tokenPrefix}${n}`;
}

/** The draw key of a draw token: it holds the number drawn with it. */
export function drawKey(keys: ResourceKeys, token: string): string {
  return `${keys.drawPrefix}${token}`;
}

/**
 * Random bytes are drawn this many at a time, each used once: a lock takes
 * its token from the batch rather than asking the system for 8 bytes.
 */
const RANDOM_BATCH = 4096;
let randomBytes = new Uint8Array(0);
let randomUsed = 0;

/** `count` fresh random bytes as lower-case hex digits. */
function randomHex(count: number): string {
  if (randomUsed + count > randomBytes.length) {
    randomBytes = crypto.getRandomValues(new Uint8Array(RANDOM_BATCH));
    randomUsed = 0;
  }
  let hex = "";
  const end = randomUsed + count;
  for (let index = randomUsed; index < end; index++) {
    hex += HEX[randomBytes[index]];
  }
  randomUsed = end;
  return hex;
}

const HEX = Array.from(
  { length: 256 },
  (_, byte) => byte.toString(16).padStart(2, "0"),
);

/**
 * A Locker's wake id: 16 lower-case hex digits (64 random bits). It names
 * the Locker's wake channel on each resource and begins each of its draw
 * tokens, so a script finds the channel of a number's user in its token key.
 */
export function newWakeId(): string {
  return randomHex(8);
}

/**
 * A fresh draw token: the Locker's wake id followed by 16 random hex digits
 * (32 in all), unique to one draw. It tells apart users who drew the same
 * number with the same label, and makes a script sent twice (a reply lost,
 * the command resent) do its work once.
 */
export function newDrawToken(wakeId: string = newWakeId()): string {
  return wakeId + randomHex(8);
}

/** The wake channel of the Locker with `wakeId` on a resource. */
export function wakeChannel(keys: ResourceKeys, wakeId: string): string {
  return `${keys.wakePrefix}${wakeId}`;
}

/**
 * What a wake message proves a grant with: the SHA-1 of the draw token, in
 * hex. Only the token's owner (and Redis) can know it; the token itself never
 * travels on a channel.
 */
export function grantProof(token: string): string {
  return createHash("sha1").update(token).digest("hex");
}

/**
 * A wake message, read: a grant; a hint that a turn 1.0 user holds ahead
 * (listen on the internal channel); or a hint that the waiter was skipped
 * (ask Redis).
 */
export type WakeMessage =
  | {
    readonly kind: "grant";
    readonly n: number;
    readonly proof: string;
    readonly fence: bigint;
  }
  | { readonly kind: "watch"; readonly n: number }
  | { readonly kind: "skipped"; readonly n: number };

/**
 * Reads a wake message: `<n> <proof> <fence>` grants user `n` with a fencing
 * token; `<n> watch` tells waiter `n` that a turn 1.0 user holds, who hands
 * over on the internal channel only; `<n> skipped` tells waiter `n` that a
 * hand-over passed it, its presence gone. Anything else is `undefined`.
 */
export function parseWake(payload: string): WakeMessage | undefined {
  const grant = /^([1-9][0-9]*) ([0-9a-f]{40}) ([1-9][0-9]*)$/.exec(payload);
  if (grant) {
    return {
      kind: "grant",
      n: Number(grant[1]),
      proof: grant[2],
      fence: BigInt(grant[3]),
    };
  }
  const hint = /^([1-9][0-9]*) (watch|skipped)$/.exec(payload);
  if (!hint) return undefined;
  const n = Number(hint[1]);
  return hint[2] === "watch" ? { kind: "watch", n } : { kind: "skipped", n };
}

/** The number a presence key names, or `undefined` if it names none. */
export function numberOfPresenceKey(
  keys: ResourceKeys,
  key: string,
): number | undefined {
  return numberAfter(keys.presencePrefix, key);
}

/** The number `key` names after `prefix`, or `undefined` if it names none. */
export function numberAfter(prefix: string, key: string): number | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const digits = key.slice(prefix.length);
  return /^[1-9][0-9]*$/.test(digits) ? Number(digits) : undefined;
}

/** SCAN pattern matching the fence key of every resource. */
export const FENCE_PATTERN = `${PREFIX}:*:fence`;

/** SCAN pattern matching the dispenser key of every resource. */
export const DISPENSER_PATTERN = `${PREFIX}:*:dispenser`;

/** PSUBSCRIBE pattern matching the external channel of every resource. */
export const EXTERNAL_PATTERN = `${PREFIX}:*:external`;

/** The resource named by a dispenser key or an external channel, if any. */
export function resourceOf(
  name: string,
  suffix: "dispenser" | "external" | "fence" | "line",
  hashTag = false,
): string | undefined {
  const head = `${PREFIX}:`;
  const tail = `:${suffix}`;
  if (!name.startsWith(head) || !name.endsWith(tail)) return undefined;
  const middle = name.slice(head.length, name.length - tail.length);
  if (!hashTag) return middle;
  return middle.startsWith("{") && middle.endsWith("}")
    ? middle.slice(1, -1)
    : undefined;
}
