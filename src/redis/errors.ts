/**
 * What reaches a caller when Redis fails: this module's own error classes,
 * never ioredis's, with ioredis's error as `cause`.
 *
 * @module
 */

import { CommandError, ConnectionError, TurnError } from "../errors.ts";
import { isSlotMoving, SLOT_MOVE_WAIT_MS } from "./slot_move.ts";

/** Whether `error` is Redis's reply to a command, not a lost connection. */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === "ReplyError";
}

// Network failures that pass when Redis is back, as ioredis and the OS word
// them; a wrong address, password or permission is not among them.
const AWAY =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|no answer within|Connection is closed|max retries per request/i;

/** Whether `error` says Redis is away for now (down, restarting, cut off). */
export function isAway(error: unknown): boolean {
  return error instanceof Error && !isReplyError(error) &&
    AWAY.test(error.message);
}

/**
 * `error` as one of this module's errors: a refusal by Redis, or a slot
 * still moving after the bound, becomes a CommandError, anything else ioredis reports (a connection lost, retries
 * given up) a ConnectionError naming `address`. Errors of this module pass
 * unchanged.
 */
export function ownError(address: string, error: unknown): TurnError {
  if (error instanceof TurnError) return error;
  if (!(error instanceof Error)) {
    return new ConnectionError(address, String(error), { cause: error });
  }
  if (isSlotMoving(error)) {
    return new CommandError(
      address,
      `the resource's slot was still being moved after ${SLOT_MOVE_WAIT_MS} ms of trying again: ${error.message}`,
      { cause: error },
    );
  }
  return isReplyError(error)
    ? new CommandError(address, error.message, { cause: error })
    : new ConnectionError(address, error.message, { cause: error });
}

// The ACL user lacks a command a script needs (Redis 7.0 words it as an ERR,
// later versions as NOPERM): asking again cannot help, so the wait fails with
// Redis's reason instead of lasting until its timeout.
const REFUSED = /^NOPERM |^ERR The user executing the script can't run/;

/** Whether Redis refused a script for want of an ACL permission. */
export function isRefused(error: unknown): boolean {
  return error instanceof Error && REFUSED.test(error.message);
}
