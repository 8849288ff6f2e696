/**
 * The file backend's fencing tokens: one counter file per resource, kept
 * outside the queue's directory so that it outlives idle periods and resets.
 *
 * @module
 */

import { parentDir, type ResourcePaths } from "./layout.ts";
import { writeAll } from "./io.ts";

const WIDTH = 20;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The last fencing token issued on a resource, `0n` if none was. Read under
 * a shared lock, so never halfway through an issue.
 */
export function lastFence(paths: ResourcePaths): bigint {
  try {
    using file = Deno.openSync(paths.fence, { read: true });
    file.lockSync(false);
    return parseFence(paths, readText(file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0n;
    throw error;
  }
}

/**
 * Issues the next fencing token of a resource. Called by the holder of a
 * new grant only: grants of a resource are ordered, and each holder takes
 * its token before its predecessor's turn could follow, so tokens follow
 * grants. The count is written in place at a fixed width in one write, so a
 * process dying midway never leaves a shorter, smaller number behind.
 */
export function nextFence(paths: ResourcePaths): bigint {
  Deno.mkdirSync(parentDir(paths.fence), { recursive: true });
  using file = Deno.openSync(paths.fence, {
    read: true,
    write: true,
    create: true,
  });
  file.lockSync(true);
  const fence = parseFence(paths, readText(file)) + 1n;
  file.seekSync(0, Deno.SeekMode.Start);
  writeAll(file, encoder.encode(String(fence).padStart(WIDTH, "0")));
  return fence;
}

function readText(file: Deno.FsFile): string {
  const buffer = new Uint8Array(WIDTH);
  const read = file.readSync(buffer) ?? 0;
  return decoder.decode(buffer.subarray(0, read)).trim();
}

function parseFence(paths: ResourcePaths, text: string): bigint {
  // Starting again from 1 would break every token's promise: refuse instead.
  if (text !== "" && !/^[0-9]+$/.test(text)) {
    throw new Error(
      `the fencing token file must hold a decimal number: got ${
        JSON.stringify(text)
      } in ${paths.fence}`,
    );
  }
  return text === "" ? 0n : BigInt(text);
}
