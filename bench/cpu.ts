/**
 * CPU time spent by this process and by the Redis server, for figures per
 * operation that explain where a round trip's time goes.
 *
 * @module
 */

import process from "node:process";
import type { Redis } from "ioredis";

/** CPU time (user + system) of this process so far, µs. */
export function clientCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** CPU time (user + system) of the Redis server so far, µs (`INFO cpu`). */
export async function serverCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const seconds = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1]);
  return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1e6;
}

/** CPU per operation of `work`, on the client and on the server, µs. */
export async function cpuPerOp(
  redis: Redis,
  ops: number,
  work: () => Promise<void>,
): Promise<{ clientCpuUs: number; serverCpuUs: number }> {
  const [client, server] = [clientCpuUs(), await serverCpuUs(redis)];
  await work();
  return {
    clientCpuUs: (clientCpuUs() - client) / ops,
    serverCpuUs: (await serverCpuUs(redis) - server) / ops,
  };
}
