/**
 * Which kind of turn a lock asks for: a plain turn (turn 1.0's mutex), or a
 * shared turn (`capacity` or `shared` given), which lives in a key family
 * of its own. PROTOCOL.md ("Shared turns") states the rules.
 *
 * @module
 */

import { NO_LIMIT, type TurnKind } from "./grant_rule.ts";
import { show } from "./validate.ts";

/** A shared turn's kind and the capacity its user asks the resource for. */
export interface SharedMode {
  readonly kind: TurnKind;
  /** Most shared holders at once; `NO_LIMIT` (0) for no limit. */
  readonly capacity: number;
}

/** The options that choose the kind of turn. */
export interface TurnModeOptions {
  /** Most holders at once (a whole number, at least 1). */
  readonly capacity?: number;
  /** `true`: hold beside other shared users; `false`: hold alone. */
  readonly shared?: boolean;
}

/**
 * Reads `capacity` and `shared`: `undefined` for a plain turn (neither
 * given, or `capacity: 1` alone, which is what a plain turn is), else the
 * shared mode. `shared: false` asks for an exclusive turn among shared
 * users; a `capacity` without `shared` asks for one of its places.
 *
 * @example
 * ```ts
 * import { sharedMode } from "./turn_mode.ts";
 * console.assert(sharedMode({})?.kind === undefined);
 * console.assert(sharedMode({ capacity: 3 })?.capacity === 3);
 * console.assert(sharedMode({ shared: false })?.kind === "exclusive");
 * ```
 */
export function sharedMode(options: TurnModeOptions): SharedMode | undefined {
  const { capacity, shared } = options;
  if (shared !== undefined && typeof shared !== "boolean") {
    throw new TypeError(`shared must be true or false: got ${show(shared)}`);
  }
  if (capacity !== undefined) checkCapacity(capacity);
  if (shared === undefined && (capacity === undefined || capacity === 1)) {
    return undefined;
  }
  return {
    kind: shared === false ? "exclusive" : "shared",
    capacity: capacity ?? NO_LIMIT,
  };
}

/** Checks a capacity: a whole number of places, at least 1. */
export function checkCapacity(value: unknown): number {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < 1
  ) {
    throw new RangeError(
      `capacity must be a whole number of places, at least 1: got ${
        show(value)
      }`,
    );
  }
  return value;
}

/** A capacity as people read it: `3`, or `no limit`. */
export function showCapacity(capacity: number): string {
  return capacity === NO_LIMIT ? "no limit" : String(capacity);
}
