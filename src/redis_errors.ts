/**
 * What reaches a caller when Redis fails: this module's own error classes,
 * never ioredis's, with ioredis's error as `cause`.
 *
 * @module
 */

import { CommandError, ConnectionError, TurnError } from "./errors.ts";

/** Whether `error` is Redis's reply to a command, not a lost connection. */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === "ReplyError";
}

/**
 * `error` as one of this module's errors: a refusal by Redis becomes a
 * CommandError, anything else ioredis reports (a connection lost, retries
 * given up) a ConnectionError naming `address`. Errors of this module pass
 * unchanged.
 */
export function ownError(address: string, error: unknown): TurnError {
  if (error instanceof TurnError) return error;
  if (!(error instanceof Error)) {
    return new ConnectionError(address, String(error), { cause: error });
  }
  return isReplyError(error)
    ? new CommandError(address, error.message, { cause: error })
    : new ConnectionError(address, error.message, { cause: error });
}
