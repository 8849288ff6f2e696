/**
 * Scenario 1's floor for any lock that turn 1.0 clients can share: the
 * fewest commands an atomic lock + release cycle of turn 1.0's protocol
 * runs, as two scripts sent with ioredis. The draw counts the number and
 * sets the indicator, the presence and turn 1.0's two messages ("assigned",
 * "started"); the release reads the presence and the indicator, deletes them
 * with the dispenser and sends turn 1.0's two messages ("completed",
 * "granted"). Nothing of what turn adds (draw and token keys that make a
 * script safe to send twice and tell users apart, fencing tokens, shared
 * turns, skipping the dead) is in it, and it cannot wait: only for a lock
 * nobody else wants. No lock that speaks turn 1.0's protocol atomically can
 * run a cycle with less work inside Redis.
 *
 * @module
 */

import { Redis } from "ioredis";
import { presenceKey, resourceKeys } from "../src/redis/keys.ts";
import type { Peer, PeerOptions } from "./peers.ts";

// KEYS dispenser, indicator; ARGV resource, base, label, expire. SET NX GET
// sets the indicator only for a new queue and says whether there was one.
const DRAW = `
local n = redis.call('INCR', KEYS[1])
if redis.call('SET', KEYS[2], n, 'NX', 'GET') then return 0 end
local base, say = ARGV[2], ARGV[1] .. ': ' .. n
redis.call('SET', base .. 'serial:' .. n, ARGV[3], 'PX', ARGV[4])
redis.call('PUBLISH', base .. 'external', say .. ' assigned to "' .. ARGV[3] .. '"')
redis.call('PUBLISH', base .. 'external', say .. ' started')
return n
`;

// KEYS presence, dispenser, indicator; ARGV resource, base, n, label.
const RELEASE = `
local v = redis.call('MGET', KEYS[1], KEYS[3])
if v[1] ~= ARGV[4] or v[2] ~= ARGV[3] then return 0 end
local out = ARGV[2] .. 'external'
redis.call('PUBLISH', out, ARGV[1] .. ': ' .. ARGV[3] .. ' completed by "' .. ARGV[4] .. '"')
redis.call('PUBLISH', out, ARGV[1] .. ': ' .. (ARGV[3] + 1) .. ' granted')
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
`;

/** Opens the protocol floor's client: one ioredis connection. */
export async function openProtocolFloor(
  { url, expire }: PeerOptions,
): Promise<Peer> {
  const redis = new Redis(url);
  const draw = await redis.script("LOAD", DRAW) as string;
  const release = await redis.script("LOAD", RELEASE) as string;
  const label = "bench";
  return {
    async acquire(resource) {
      const keys = resourceKeys(resource);
      const { dispenser, indicator, base } = keys;
      const n = Number(
        await redis.evalsha(
          draw,
          2,
          dispenser,
          indicator,
          resource,
          base,
          label,
          expire,
        ),
      );
      if (n === 0) throw new Error(`${resource} is busy: cannot wait`);
      return {
        ticket: n,
        release: async () => {
          const presence = presenceKey(keys, n);
          const args = [resource, base, n, label];
          const keysOf = [presence, dispenser, indicator];
          const done = await redis.evalsha(release, 3, ...keysOf, ...args);
          if (Number(done) !== 1) throw new Error(`${resource}: not held`);
        },
      };
    },
    [Symbol.asyncDispose]: async () => void await redis.quit(),
  };
}
