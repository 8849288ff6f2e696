/**
 * Node's stand-in for src/file/backend.ts in the npm build: the file backend
 * holds OS file locks through `Deno.FsFile.lock`, which Node lacks.
 *
 * @module
 */

// The same path from npm/file/ and from src/file/, where the build puts this file.
import type { Engine } from "../../src/engine.ts";

/** Refuses: the file backend runs under Deno only. */
export function openFileEngine(directory: string, _pollMs?: number): Engine {
  throw new TypeError(
    `url file: needs Deno (the file backend holds OS file locks Node cannot take); under Node use a redis:// URL: got ${
      JSON.stringify(`file://${directory}`)
    }`,
  );
}
