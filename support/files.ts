/**
 * What is under a directory, for tests and the chaos checker: what the
 * file backend left behind.
 *
 * @module
 */

import { FENCE_DIR } from "../src/file/layout.ts";

/**
 * Every file and directory under `root`, relative to it, sorted, but the
 * fencing tokens' directory: the one thing idle resources keep on purpose.
 */
export async function filesUnder(root: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${root}/${prefix}`)) {
      if (entry.name === FENCE_DIR) continue;
      const path = `${prefix}${entry.name}`;
      found.push(path);
      if (entry.isDirectory) found.push(...await filesUnder(root, `${path}/`));
    }
  } catch (error) {
    // A directory removed while it was listed holds nothing.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}
