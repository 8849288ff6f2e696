/**
 * The errors the NestJS adapter throws.
 *
 * @module
 */

import { TurnError } from "../../mod.ts";

/**
 * A `@Turn` decorator is misused: bad options, a resource function that
 * throws or returns something else than names, no `TurnModule`, or
 * `currentTurn()` called outside a turn.
 *
 * @example Telling setup mistakes apart
 * ```ts
 * import { TurnDecoratorError } from "@turn/turn/nestjs";
 * const error = new TurnDecoratorError("Ledger.post", "something is off");
 * console.log(error.method, error.message);
 * ```
 */
export class TurnDecoratorError extends TurnError {
  /** The decorated method, as `Class.method`. */
  readonly method: string;

  /** Creates the error for `method` (`Class.method`). */
  constructor(method: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.method = method;
  }
}

/**
 * The application is shutting down: a call that was still waiting for its
 * turn gave up its ticket and rejects with this.
 *
 * @example Recognising a wait cut short by shutdown
 * ```ts
 * import { TurnShutdownError } from "@turn/turn/nestjs";
 * const error: unknown = new TurnShutdownError();
 * console.log(error instanceof TurnShutdownError);
 * ```
 */
export class TurnShutdownError extends TurnError {
  /** Creates the error. */
  constructor() {
    super("the application is shutting down: stopped waiting for the turn");
  }
}
