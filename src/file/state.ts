/**
 * The queue counters of one resource on disk, written whole by rename so no
 * reader ever sees half a file.
 *
 * @module
 */

import {
  formatState,
  parseState,
  type PlacesRecord,
  type ResourcePaths,
} from "./layout.ts";
import { isNotFound, writeWhole } from "./io.ts";

/** The indicator and dispenser of a queue, and a shared queue's places. */
export interface Counters {
  /** The number whose turn it is (shared: no live user below it). */
  readonly indicator: number;
  /** The last number handed out. */
  readonly dispenser: number;
  /** Shared queues only. */
  readonly places?: PlacesRecord;
}

/** What the state file holds. */
export type StateRead =
  | { readonly kind: "missing" }
  | { readonly kind: "corrupt" }
  | ({ readonly kind: "ok"; readonly resource: string } & Counters);

/** Reads the state file of a resource; never throws for a damaged file. */
export function readState(paths: ResourcePaths): StateRead {
  let text: string;
  try {
    text = Deno.readTextFileSync(paths.state);
  } catch (error) {
    if (isNotFound(error)) return { kind: "missing" };
    throw error;
  }
  const record = parseState(text);
  // A damaged file is recovered by the caller.
  return record === undefined ? { kind: "corrupt" } : { kind: "ok", ...record };
}

/** Replaces the state file of a resource. */
export function writeState(
  paths: ResourcePaths,
  { indicator, dispenser, places }: Counters,
): void {
  const resource = paths.resource;
  const text = formatState({ resource, dispenser, indicator, places });
  return writeWhole(paths.state, text);
}
