/**
 * Riding out a Redis that is away: a wait's draw tries again until Redis is
 * back, and the holder of a lost lease hands its turn over after each
 * reconnect, for as long as that can still matter.
 *
 * @module
 */

import { type Client, endedForGood } from "./client.ts";
import { isAway } from "./errors.ts";
import type { Session } from "./session.ts";
import { delay, rejecting } from "../wait.ts";

/** Pause between draws that failed because Redis is away. */
const REDRAW_WHILE_AWAY_MS = 100;

/**
 * Runs `attempt` until it succeeds, or fails where `waits` says not to wait.
 * The first attempt starts in the caller's tick.
 */
export function retryWhileAway(
  attempt: () => Promise<void>,
  waits: (error: unknown) => boolean,
): Promise<void> {
  const again = (error: unknown): Promise<void> => {
    if (!waits(error)) throw error;
    return delay(REDRAW_WHILE_AWAY_MS).then(() =>
      retryWhileAway(attempt, waits)
    );
  };
  return rejecting(attempt).catch(again);
}

/**
 * Runs `leave` again after each reconnect while Redis is away, until
 * `until` (when the presence is gone anyway) or the abort of `closing`.
 */
export async function leaveWhileAway(
  leave: () => Promise<unknown>,
  session: Session,
  until: number,
  closing: AbortSignal,
): Promise<void> {
  const client: Client = session.client;
  for (;;) {
    try {
      await leave();
      return;
    } catch (error) {
      // Only a reconnect can help: none is under way when the client is
      // ready (or has ended for good), and after `until` the presence is gone.
      const hopeless = client.status === "ready" || endedForGood(client);
      if (!isAway(error) || hopeless || Date.now() >= until) throw error;
    }
    await session.reconnected(until - Date.now(), closing);
    if (closing.aborted && client.status !== "ready") return;
  }
}
