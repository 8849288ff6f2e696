/**
 * The queue counters of one resource on disk, written whole by rename so no
 * reader ever sees half a file.
 *
 * @module
 */

import type { ResourcePaths } from "./file_layout.ts";
import { isNotFound, writeWhole } from "./file_io.ts";

/** The indicator and dispenser of a queue. */
export interface Counters {
  /** The number whose turn it is. */
  readonly indicator: number;
  /** The last number handed out. */
  readonly dispenser: number;
}

/** What the state file holds. */
export type StateRead =
  | { readonly kind: "missing" }
  | { readonly kind: "corrupt" }
  | ({ readonly kind: "ok"; readonly resource: string } & Counters);

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) &&
    value >= 0;
}

/** Reads the state file of a resource; never throws for a damaged file. */
export function readState(paths: ResourcePaths): StateRead {
  let text: string;
  try {
    text = Deno.readTextFileSync(paths.state);
  } catch (error) {
    if (isNotFound(error)) return { kind: "missing" };
    throw error;
  }
  try {
    const { resource, indicator, dispenser } = JSON.parse(text);
    if (
      typeof resource === "string" && isCount(indicator) && isCount(dispenser)
    ) {
      return { kind: "ok", resource, indicator, dispenser };
    }
  } catch { /* not JSON: a damaged file, recovered by the caller */ }
  return { kind: "corrupt" };
}

/** Replaces the state file of a resource. */
export function writeState(
  paths: ResourcePaths,
  { indicator, dispenser }: Counters,
): void {
  const text = JSON.stringify({
    resource: paths.resource,
    dispenser,
    indicator,
  });
  return writeWhole(paths.state, `${text}\n`);
}
