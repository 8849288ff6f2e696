/**
 * Reading the root beyond one queue: the resources that have a queue there.
 *
 * @module
 */

import { FOLLOW_DIR, pathsOfDirName, resourceOfDirName } from "./layout.ts";
import { readState } from "./state.ts";

/** Names of every resource with a queue under `root`, sorted. */
export async function resourcesUnder(root: string): Promise<string[]> {
  const found = new Set<string>();
  try {
    for await (const entry of Deno.readDir(root)) {
      if (!entry.isDirectory || entry.name === FOLLOW_DIR) continue;
      const named = resourceOfDirName(entry.name);
      const state = readState(
        pathsOfDirName(root, entry.name, named ?? ""),
      );
      if (state.kind === "ok") found.add(state.resource);
      else if (state.kind === "corrupt" && named !== undefined) {
        found.add(named);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return [...found].sort();
}
