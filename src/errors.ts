/**
 * Error classes. Each message states the rule that was broken and the value
 * that broke it.
 *
 * @module
 */

/**
 * Base class of every error this module throws on purpose.
 *
 * @example Telling turn's errors from others
 * ```ts
 * import { TurnError } from "./errors.ts";
 * const error: unknown = new TurnError("something went wrong");
 * if (error instanceof TurnError) console.log(error.message);
 * ```
 */
export class TurnError extends Error {
  /** Creates an error with the given message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The turn did not come within the `timeout` given to `lock`. The user has
 * left the queue by the time this is thrown (or, if Redis is away, goes on
 * leaving in the background). `why` says what stood in the way: the users
 * still ahead, or a Redis that could not be reached (`unreachable`).
 *
 * @example Giving up after a while
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * const error = new TimeoutError("printer", 3, 5000);
 * console.log(error.message); // timed out after 5000 ms waiting for "printer": 3 user(s) still ahead
 * ```
 */
export class TimeoutError extends TurnError {
  /** The resource waited for. */
  readonly resource: string;
  /**
   * Live users that were still ahead when the wait gave up (as last seen,
   * when Redis could not be asked).
   */
  readonly ahead: number;
  /** The timeout that ran out, in milliseconds. */
  readonly timeout: number;
  /**
   * Set when Redis could not be reached (or did not answer) as the wait
   * gave up: its address and the last reason given. Also the `cause`.
   */
  readonly unreachable?: ConnectionError;
  /** What stood in the way, as the end of the message says it. */
  readonly why: string;

  /** Creates the error for a wait on `resource` that gave up. */
  constructor(
    resource: string,
    ahead: number,
    timeout: number,
    unreachable?: ConnectionError,
  ) {
    const why = unreachable ? awayWhy(ahead, unreachable) : aheadWhy(ahead);
    super(
      `timed out after ${timeout} ms waiting for ${
        JSON.stringify(resource)
      }: ${why}`,
      unreachable && { cause: unreachable },
    );
    this.resource = resource;
    this.ahead = ahead;
    this.timeout = timeout;
    if (unreachable) this.unreachable = unreachable;
    this.why = why;
  }
}

function aheadWhy(ahead: number): string {
  return `${ahead} user(s) still ahead`;
}

function awayWhy(ahead: number, { address, reason }: ConnectionError): string {
  const why =
    `Redis at ${address} could not be reached during the wait (last error: ${reason})`;
  // A count read before Redis went away is history, and said to be.
  return ahead > 0 ? `${why}; ${ahead} user(s) were ahead when last seen` : why;
}

/**
 * A held turn is no longer certainly the holder's: its presence expired, the
 * indicator moved on, or Redis was unreachable for longer than `expire`.
 * `lock.signal` aborts with this as its reason.
 *
 * @example Reacting to a lost lease
 * ```ts
 * import { LeaseLostError } from "./errors.ts";
 * const error = new LeaseLostError("printer", 7, "its presence key expired");
 * console.log(error.message); // lost the turn on "printer" (number 7): its presence key expired
 * ```
 */
export class LeaseLostError extends TurnError {
  /** The resource whose turn was lost. */
  readonly resource: string;
  /** The number that held the turn. */
  readonly number: number;

  /** Creates the error for number `number` of `resource`. */
  constructor(resource: string, number: number, why: string) {
    super(
      `lost the turn on ${JSON.stringify(resource)} (number ${number}): ${why}`,
    );
    this.resource = resource;
    this.number = number;
  }
}

/**
 * Redis could not be reached or refused the credentials. The address never
 * includes a password.
 *
 * @example Reporting an unreachable server
 * ```ts
 * import { ConnectionError } from "./errors.ts";
 * const error = new ConnectionError("127.0.0.1:6390", "connect ECONNREFUSED");
 * console.log(error.message); // cannot connect to Redis at 127.0.0.1:6390: connect ECONNREFUSED
 * ```
 */
export class ConnectionError extends TurnError {
  /** `host:port` (or socket path) that was tried. */
  readonly address: string;
  /** The reason Redis or the OS gave. */
  readonly reason: string;

  /** Creates the error for `address`, with the reason Redis or the OS gave. */
  constructor(address: string, reason: string, options?: ErrorOptions) {
    super(`cannot connect to Redis at ${address}: ${reason}`, options);
    this.address = address;
    this.reason = reason;
  }
}

/**
 * Redis answered a command of this module with an error: a user missing an
 * ACL permission a script needs, a server out of memory, a read-only
 * replica. The address never includes a password; `cause` holds Redis's
 * reply.
 *
 * @example Reporting a refused command
 * ```ts
 * import { CommandError } from "./errors.ts";
 * const error = new CommandError("127.0.0.1:6390", "NOPERM this user has no permissions to run the 'pexpire' command");
 * console.log(error.message); // Redis at 127.0.0.1:6390 refused a command: NOPERM this user ...
 * ```
 */
export class CommandError extends TurnError {
  /** `host:port` (or socket path) of the server that refused. */
  readonly address: string;

  /** Creates the error for `address`, with Redis's reply as the reason. */
  constructor(address: string, reason: string, options?: ErrorOptions) {
    super(`Redis at ${address} refused a command: ${reason}`, options);
    this.address = address;
  }
}

/**
 * A lock asked a resource for another capacity than the one its users hold
 * or wait with. Nothing changed; an idle resource takes any capacity.
 *
 * @example
 * ```ts
 * import { CapacityError } from "./errors.ts";
 * const error = new CapacityError("gpu", "3", "2");
 * console.log(error.message);
 * ```
 */
export class CapacityError extends TurnError {
  /** The resource asked for. */
  readonly resource: string;
  /** The capacity its users hold or wait with (`no limit` or a number). */
  readonly capacity: string;
  /** The capacity this lock asked for. */
  readonly asked: string;

  /** Creates the error for a lock on `resource` that asked for `asked`. */
  constructor(resource: string, capacity: string, asked: string) {
    super(
      `every user of a resource must ask for the same capacity: ${
        JSON.stringify(resource)
      } has capacity ${capacity} while its users hold or wait, and this lock asked for ${asked}`,
    );
    this.resource = resource;
    this.capacity = capacity;
    this.asked = asked;
  }
}

/**
 * A lock asked for a shared turn (`capacity` or `shared`) on a resource
 * whose users take plain turns, or the other way round. The two kinds never
 * share a resource, since plain turns are turn 1.0's protocol, which does
 * not know shared ones. Nothing changed.
 *
 * @example
 * ```ts
 * import { TurnModeError } from "./errors.ts";
 * const error = new TurnModeError("db", "shared", "plain");
 * console.log(error.message);
 * ```
 */
export class TurnModeError extends TurnError {
  /** The resource asked for. */
  readonly resource: string;

  /** Creates the error: this lock asked for `asked`, its users hold `held`. */
  constructor(
    resource: string,
    asked: "plain" | "shared",
    held: "plain" | "shared",
  ) {
    super(
      `plain and shared turns cannot mix on one resource: ${
        JSON.stringify(resource)
      } has users with ${held} turns, and this lock asked for a ${asked} turn${
        asked === "plain"
          ? " (ask with shared: false for a turn alone among shared users)"
          : ""
      }`,
    );
    this.resource = resource;
  }
}
