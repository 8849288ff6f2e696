/**
 * Counts the pub/sub messages that reach this process's Redis clients. Each
 * one wakes the process (a message that arrives in the same read as another
 * counts too), so over many handoffs it tells how many processes a handoff
 * wakes, whatever channels the lock publishes on.
 *
 * @module
 */

import { Redis } from "ioredis";

// ioredis emits one of these for every message, whether or not anyone listens.
const MESSAGE_EVENTS = new Set([
  "messageBuffer",
  "pmessageBuffer",
  "smessageBuffer",
]);

let received = 0;
let counting = false;

/** Starts counting, in every Redis client of this process (idempotent). */
export function countMessages(): void {
  if (counting) return;
  counting = true;
  const emit = Redis.prototype.emit;
  Redis.prototype.emit = function (
    this: Redis,
    event: string | symbol,
    ...args: unknown[]
  ): boolean {
    if (typeof event === "string" && MESSAGE_EVENTS.has(event)) received++;
    return emit.call(this, event, ...args);
  };
}

/** Pub/sub messages received since countMessages() was first called. */
export function messagesReceived(): number {
  return received;
}
