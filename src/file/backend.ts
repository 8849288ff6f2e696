/**
 * Opens the file backend. The only import of it from the rest of the
 * module, so that the npm build can put `npm/file/backend.ts` in its place:
 * the backend needs `Deno.FsFile.lock`, which Node does not have.
 *
 * @module
 */

import type { Engine } from "../engine.ts";
import { FileEngine } from "./engine.ts";

/**
 * The file backend keeping its queues under `directory`; `pollMs` is a test
 * seam (see FILE_POLL_MS in ../backend.ts).
 */
export function openFileEngine(directory: string, pollMs?: number): Engine {
  return new FileEngine(directory, pollMs);
}
