/**
 * The queue counters of one resource on disk, written whole by rename so no
 * reader ever sees half a file.
 *
 * @module
 */

import { type ResourcePaths, tempName } from "./file_layout.ts";

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
export async function readState(paths: ResourcePaths): Promise<StateRead> {
  let text: string;
  try {
    text = await Deno.readTextFile(paths.state);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "missing" };
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

/** Writes `text` to `path` through a temporary file and a rename. */
export async function writeWhole(path: string, text: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const temp = `${path.slice(0, slash)}/${tempName(path.slice(slash + 1))}`;
  try {
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Replaces the state file of a resource. */
export function writeState(
  paths: ResourcePaths,
  { indicator, dispenser }: Counters,
): Promise<void> {
  const text = JSON.stringify({
    resource: paths.resource,
    dispenser,
    indicator,
  });
  return writeWhole(paths.state, `${text}\n`);
}
