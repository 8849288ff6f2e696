/**
 * Which held leases end when the connection to Redis is lost: every one on
 * a single server (a restarted Redis may have lost every key, and others
 * may be granted as soon as it is back), and on a Cluster those whose keys
 * were on the master that was lost (a replica taking over may lack the last
 * writes). A replica or another master leaving changes nothing.
 *
 * @module
 */

import type { ResourceKeys } from "./keys.ts";
import type { RedisTicket } from "./ticket.ts";

const CONNECTION_LOST =
  "the connection to Redis was lost (its keys may be gone)";

/** The connection dropped: every held lease is given up. */
export function loseAllHeld(tickets: Iterable<RedisTicket>): void {
  for (const ticket of tickets) {
    if (ticket.state === "held") ticket.lose(CONNECTION_LOST);
  }
}

/**
 * Cluster node `node` (`host:port`) was dropped: the leases it served are
 * given up, it being the master that granted them or, as `masterOf` says,
 * the one serving their slot now.
 */
export function loseServedBy(
  tickets: Iterable<RedisTicket>,
  node: string,
  masterOf: (keys: ResourceKeys) => string | undefined,
): void {
  for (const ticket of tickets) {
    if (ticket.state !== "held") continue;
    const served = node === ticket.master || node === masterOf(ticket.keys);
    if (served) ticket.lose(CONNECTION_LOST);
  }
}
