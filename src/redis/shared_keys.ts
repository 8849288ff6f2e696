/**
 * The Redis key and channel names of shared turns (capacity N, shared and
 * exclusive users). They form a family of their own, which turn 1.0 never
 * reads: its names are `dispenser`, `indicator` and `serial:<n>`, and its
 * tools find resources by `turn:*:dispenser`. Every name ends in one word,
 * or one word and a number or token, none of which a plain turn uses, so no
 * two resources' names meet. PROTOCOL.md ("Shared turns") describes them.
 *
 * @module
 */

import {
  numberAfter,
  PREFIX,
  type ResourceKeys,
  resourceKeys,
} from "./keys.ts";

/** Every key and channel name of one resource's shared turns. */
export interface SharedKeys {
  readonly resource: string;
  /**
   * `turn:<r>:line`: the queue's state, one string
   * `<capacity> <last> <head> <granted>`; exists only while it has users.
   */
  readonly line: string;
  /** `turn:<r>:ticket:`: prefix of ticket keys, followed by the number. */
  readonly ticketPrefix: string;
  /** `turn:<r>:claim:`: prefix of claim keys, followed by a draw token. */
  readonly claimPrefix: string;
  /** `turn:<r>:wake`: carries the ticket key of each number granted. */
  readonly wake: string;
  /** The plain turn's names of the same resource (fence, external, ...). */
  readonly plain: ResourceKeys;
}

/**
 * Builds the shared-turn names of a resource; `hashTag` as for
 * `resourceKeys`, so both families of a resource share one Cluster slot.
 */
export function sharedKeys(resource: string, hashTag = false): SharedKeys {
  return sharedKeysOf(resourceKeys(resource, hashTag));
}

/** The shared-turn names beside a resource's plain names. */
export function sharedKeysOf(plain: ResourceKeys): SharedKeys {
  const base = plain.fence.slice(0, -"fence".length);
  const resource = plain.resource;
  return {
    resource,
    line: `${base}line`,
    ticketPrefix: `${base}ticket:`,
    claimPrefix: `${base}claim:`,
    wake: `${base}wake`,
    plain,
  };
}

/** The ticket key of number `n`: `<token> <kind> <label>`, with a TTL. */
export function ticketKey(keys: SharedKeys, n: number): string {
  return `${keys.ticketPrefix}${n}`;
}

/** The claim key of a draw token: the number drawn with it. */
export function claimKey(keys: SharedKeys, token: string): string {
  return `${keys.claimPrefix}${token}`;
}

/** The number a ticket key names, or `undefined` if it names none. */
export function numberOfTicketKey(
  keys: SharedKeys,
  key: string,
): number | undefined {
  return numberAfter(keys.ticketPrefix, key);
}

/** SCAN pattern matching the line key of every resource with shared turns. */
export const LINE_PATTERN = `${PREFIX}:*:line`;
