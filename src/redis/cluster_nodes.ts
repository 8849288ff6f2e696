/**
 * Which Redis Cluster node serves a resource's keys, so that a node leaving
 * the cluster ends only the leases it could have taken with it: the master
 * of their slot, not a replica nor a master of other slots.
 *
 * @module
 */

import type { Cluster, Redis } from "ioredis";
import type { Client } from "./client.ts";

/** Slots of a Redis Cluster. */
const SLOTS = 16384;

/**
 * The Redis Cluster slot of `key`: CRC16 (XMODEM) of its hash tag (the
 * bytes between the first `{` and the next `}`, if not empty) or of the
 * whole key, modulo 16384, as Redis computes it.
 */
export function keySlot(key: string): number {
  const bytes = new TextEncoder().encode(key);
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(bytes) % SLOTS;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    crc &= 0xffff;
  }
  return crc;
}

/** `host:port` of a node, as a Cluster client names it in its slot map. */
export function nodeName(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/**
 * `host:port` of the master `client` now sends `key`'s commands to, or
 * `undefined` when it is not a Cluster or has not learnt the slot yet.
 */
export function masterOf(client: Client, key: string): string | undefined {
  if (!client.isCluster) return undefined;
  return (client as Cluster).slots[keySlot(key)]?.[0];
}
