/**
 * Scenario 1: one process locks and releases one resource in a loop, with
 * nobody else around.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { type LoopFigures, timeLoop } from "../loop.ts";
import type { Peer } from "../peers.ts";

/** Times `cycles` lock + release cycles of `peer`. */
export async function uncontended(
  peer: Peer,
  redis: Redis,
  cycles: number,
): Promise<LoopFigures> {
  const resource = "bench:uncontended";
  return await timeLoop(
    redis,
    cycles,
    async () => await (await peer.acquire(resource)).release(),
  );
}
