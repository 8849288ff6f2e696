/**
 * The names an adapter's user functions give for one call (a job's or a
 * method call's resources and label), checked with the library's own rules.
 * Each adapter says how its errors name the caller: the job, or the method.
 *
 * @module
 */

import { checkLabel, checkResource } from "../../src/validate.ts";

/** Which user function gave the value. */
export type NameKind = "resource" | "label";

/** How an adapter names the caller in errors about its user functions. */
export interface Caller {
  /** The error for the `kind` function throwing `error`. */
  threw(kind: NameKind, error: unknown): Error;
  /** The error for the `kind` function returning what breaks a rule. */
  returned(kind: NameKind, error: TypeError | RangeError): Error;
}

/** Whether a resource function may answer `null` or `[]`: no turn needed. */
export type NoResources = "allowed" | "refused";

/**
 * Calls a resource function and checks its answer: one name, or an array
 * of them; `null` or `[]` gives `[]` where `none` allows it.
 */
export function resourcesFrom(
  caller: Caller,
  call: () => unknown,
  none: NoResources,
): string[] {
  const value = ask(caller, "resource", call);
  return blame(caller, "resource", () => resourceList(value, none));
}

/** Calls a label function and checks its answer. */
export function labelFrom(caller: Caller, call: () => unknown): string {
  const value = ask(caller, "label", call);
  return blame(caller, "label", () => checkLabel(value));
}

function resourceList(value: unknown, none: NoResources): string[] {
  const names: readonly unknown[] = value === null
    ? []
    : Array.isArray(value)
    ? value
    : [value];
  if (names.length === 0 && none === "refused") {
    throw new RangeError(
      `resources must not be empty: got ${value === null ? "null" : "[]"}`,
    );
  }
  return names.map(checkResource);
}

function ask(caller: Caller, kind: NameKind, call: () => unknown): unknown {
  try {
    return call();
  } catch (error) {
    throw caller.threw(kind, error);
  }
}

/** Runs a check of what the `kind` function returned, naming the caller. */
function blame<T>(caller: Caller, kind: NameKind, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw caller.returned(kind, error);
    }
    throw error;
  }
}
