/**
 * turn: take turns on a shared resource, across processes and hosts, first
 * come first served, through Redis. Speaks the wire protocol of the Python
 * package turn 1.0, so Python programs using it take turns with this module.
 *
 * @example Take a turn on the printer
 * ```ts
 * import { Locker } from "./mod.ts";
 * await using locker = new Locker(); // TURN_URL, TURN_REDIS_URL, REDIS_URL or localhost
 * await using lock = await locker.lock("printer", { label: "report 42" });
 * console.log(`number ${lock.number} is printing`);
 * ```
 *
 * @module
 */

export { Locker } from "./src/locker.ts";
export { type LeaseInfo, Lock, type ReleaseOutcome } from "./src/lock.ts";
export { type LockAllOptions, LockSet } from "./src/lock_set.ts";
export { Follow } from "./src/follow.ts";
export { environmentUrl } from "./src/redis/url.ts";
export {
  CapacityError,
  CommandError,
  ConnectionError,
  LeaseLostError,
  TimeoutError,
  TurnError,
  TurnModeError,
} from "./src/errors.ts";
export type {
  ConnectionOptions,
  EventKind,
  FollowOptions,
  IoredisClient,
  LockerOptions,
  LockOptions,
  PlacesStatus,
  ResetOptions,
  ResetResult,
  ResourceStatus,
  ServerAddress,
  TurnEvent,
  TurnKind,
  UserStatus,
} from "./src/types.ts";
