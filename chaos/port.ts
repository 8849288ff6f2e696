/**
 * A port for a redis-server that is killed and restarted in place. While it
 * is down, clients retrying every few ms may pick that very port as their
 * own local port and connect to themselves (TCP simultaneous open), which
 * keeps the server from binding it again. A port below the range the
 * system picks local ports from cannot be taken that way.
 *
 * @module
 */

const RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range";
const LOWEST = 10_000;

function ephemeralStart(): number | undefined {
  try {
    const start = Number(
      Deno.readTextFileSync(RANGE_FILE).trim().split(/\s+/)[0],
    );
    return Number.isInteger(start) && start > LOWEST ? start : undefined;
  } catch {
    return undefined; // not Linux, or not readable
  }
}

function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A free port below the system's local port range, or `undefined` where
 * that range is not known (then any free port will do).
 *
 * @example
 * ```ts
 * import { restartablePort } from "./port.ts";
 * const port = restartablePort();
 * ```
 */
export function restartablePort(): number | undefined {
  const start = ephemeralStart();
  if (start === undefined) return undefined;
  for (let tries = 0; tries < 100; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (start - LOWEST));
    if (isFree(port)) return port;
  }
  return undefined;
}
