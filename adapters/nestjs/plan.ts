/**
 * What one `@Turn` decorator resolved from its arguments, checked once when
 * the class is defined: a bad option fails at startup, naming the method.
 *
 * @module
 */

import { MIN_EXPIRE } from "../../src/locker.ts";
import {
  checkDuration,
  checkLabel,
  checkResource,
  show,
} from "../../src/validate.ts";
import {
  type Caller,
  labelFrom,
  type NameKind,
  resourcesFrom,
} from "../shared/names.ts";
import { TurnDecoratorError } from "./errors.ts";
import { sharedMode } from "../../src/turn_mode.ts";

/**
 * Where the turn is taken: a name, or a function of the method's arguments.
 *
 * @example
 * ```ts
 * import type { TurnResource } from "@turn/turn/nestjs";
 * const byAccount: TurnResource<[string]> = (account) => `account:${account}`;
 * ```
 */
export type TurnResource<A extends unknown[]> =
  | string
  | ((...args: A) => string | readonly string[]);

/**
 * Options of one `@Turn` decorator. Durations are milliseconds.
 *
 * @example
 * ```ts
 * import type { TurnOptions } from "@turn/turn/nestjs";
 * const options: TurnOptions<[string]> = {
 *   label: (id) => `invoice ${id}`,
 *   timeout: 30_000,
 *   onTimeout: "skip",
 * };
 * ```
 */
export interface TurnOptions<A extends unknown[] = unknown[]> {
  /** Shown by `status`; a string or a function of the arguments. Default `"Class.method"`. */
  readonly label?: string | ((...args: A) => string);
  /** Give up waiting after this long (over all resources of one call). */
  readonly timeout?: number;
  /** Presence TTL, kept alive while waiting and holding. */
  readonly expire?: number;
  /** Bump the queue after this long without news. */
  readonly patience?: number;
  /** At most this many calls hold a resource at once, in order (see `Locker.lock`). */
  readonly capacity?: number;
  /** `true`: hold beside other shared calls; `false`: alone (see `Locker.lock`). */
  readonly shared?: boolean;
  /**
   * What a call does when `timeout` runs out: `"throw"` (default) rejects
   * with a {@linkcode TimeoutError}; `"skip"` resolves to `undefined`
   * without running the method.
   */
  readonly onTimeout?: "throw" | "skip";
}

/** What one decorator resolved from its arguments, checked once. */
export interface TurnPlan {
  readonly method: string;
  readonly resources: (self: unknown, args: unknown[]) => string[];
  readonly label: (self: unknown, args: unknown[]) => string;
  readonly timeout?: number;
  readonly expire?: number;
  readonly patience?: number;
  readonly capacity?: number;
  readonly shared?: boolean;
  readonly skip: boolean;
}

/** Checks the decorator's arguments, naming `method` in any error. */
export function makePlan<A extends unknown[], L extends unknown[]>(
  method: string,
  resource: TurnResource<A>,
  options: TurnOptions<L>,
): TurnPlan {
  try {
    return {
      method,
      resources: resourcesOf(method, resource),
      label: labelOf(method, options.label),
      timeout: optionalDuration("timeout", options.timeout),
      expire: optionalDuration("expire", options.expire, MIN_EXPIRE),
      patience: optionalDuration("patience", options.patience),
      ...sharedOptions(options),
      skip: onTimeoutOf(options.onTimeout) === "skip",
    };
  } catch (error) {
    if (error instanceof TurnDecoratorError) throw error;
    throw new TurnDecoratorError(
      method,
      `@Turn on ${method}: ${message(error)}`,
      { cause: error },
    );
  }
}

/** `capacity` and `shared`, checked as `Locker.lock` checks them. */
function sharedOptions(
  options: TurnOptions<never>,
): { capacity?: number; shared?: boolean } {
  sharedMode(options);
  const { capacity, shared } = options;
  return {
    ...(capacity === undefined ? {} : { capacity }),
    ...(shared === undefined ? {} : { shared }),
  };
}

function resourcesOf<A extends unknown[]>(
  method: string,
  resource: TurnResource<A>,
): TurnPlan["resources"] {
  if (typeof resource === "string") {
    const names = [checkResource(resource)];
    return () => names;
  }
  if (typeof resource !== "function") {
    throw new TypeError(
      `the resource must be a string or a function of the arguments: got ${typeof resource}`,
    );
  }
  const caller = methodCaller(method);
  return (self, args) =>
    resourcesFrom(caller, () => resource.apply(self, args as A), "refused");
}

function labelOf<A extends unknown[]>(
  method: string,
  label: TurnOptions<A>["label"],
): TurnPlan["label"] {
  if (label === undefined) return () => method;
  if (typeof label === "string") {
    checkLabel(label);
    return () => label;
  }
  if (typeof label !== "function") {
    throw new TypeError(
      `label must be a string or a function of the arguments: got ${typeof label}`,
    );
  }
  const caller = methodCaller(method);
  return (self, args) => labelFrom(caller, () => label.apply(self, args as A));
}

const RETURNS: Record<NameKind, string> = {
  resource: "a resource name or a non-empty array of them",
  label: "a label",
};

/** Errors about the resource or label function name the decorated method. */
function methodCaller(method: string): Caller {
  const about = (kind: NameKind) => `the @Turn ${kind} function of ${method}`;
  return {
    threw: (kind, error) =>
      new TurnDecoratorError(
        method,
        `${about(kind)} threw: ${message(error)}`,
        { cause: error },
      ),
    returned: (kind, error) =>
      new TurnDecoratorError(
        method,
        `${about(kind)} must return ${RETURNS[kind]}: ${error.message}`,
        { cause: error },
      ),
  };
}

function optionalDuration(
  what: string,
  value: unknown,
  min?: number,
): number | undefined {
  return value === undefined ? undefined : checkDuration(what, value, min);
}

function onTimeoutOf(value: unknown): "throw" | "skip" {
  if (value === undefined || value === "throw" || value === "skip") {
    return value ?? "throw";
  }
  throw new RangeError(
    `onTimeout must be "throw" or "skip": got ${show(value)}`,
  );
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
