/**
 * Checks on user input. Each throws a TypeError or RangeError naming the rule
 * and the offending value, before anything is sent to Redis. The command
 * line uses the same rules, and names its flags in the messages.
 *
 * @module
 */

/** Longest resource name or label accepted, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 1024;

// Control characters would break turn 1.0's line-based messages and output.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_RUNS = new RegExp(`${CONTROL.source}+`, "g");

/** The highest TCP port. */
export const MAX_PORT = 65535;

/** Shows a value in an error message: strings quoted and cut at 40 characters. */
export function show(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "bigint") return `${value}n`;
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

function checkText(what: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== "string") {
    throw new TypeError(`${what} must be a string: got ${show(value)}`);
  }
  if (!allowEmpty && value.length === 0) {
    throw new RangeError(`${what} must not be empty: got ""`);
  }
  if (value.length > MAX_NAME_LENGTH) {
    throw new RangeError(
      `${what} must be at most ${MAX_NAME_LENGTH} characters: got ${value.length}`,
    );
  }
  if (CONTROL.test(value)) {
    throw new RangeError(
      `${what} must not contain control characters: got ${show(value)}`,
    );
  }
  if (!value.isWellFormed()) {
    throw new RangeError(
      `${what} must be well-formed Unicode (no lone surrogates): got ${
        show(value)
      }`,
    );
  }
  return value;
}

/**
 * Checks a word of a connection option (an ACL user name): a non-empty
 * string without control characters (a pasted line end, say).
 */
export function checkWord(what: string, value: unknown): string {
  return checkText(what, value, false);
}

/** Checks a resource name: a non-empty string without control characters. */
export function checkResource(value: unknown): string {
  return checkText("resource", value, false);
}

/** Checks a label: a string without control characters. */
export function checkLabel(value: unknown): string {
  return checkText("label", value, true);
}

/** Checks a list of resource names (an array of valid names). */
export function checkResources(value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`resources must be an array: got ${show(value)}`);
  }
  return value.map(checkResource);
}

/**
 * Checks a duration in milliseconds: a finite number, at least `min`.
 * Fractions round up, since Redis takes whole milliseconds.
 */
export function checkDuration(what: string, value: unknown, min = 1): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `${what} must be a positive number of milliseconds: got ${show(value)}`,
    );
  }
  if (value < min) {
    throw new RangeError(
      `${what} must be at least ${min} milliseconds: got ${value}`,
    );
  }
  return Math.ceil(value);
}

/**
 * `text` with each run of the control characters that names and labels may
 * not hold replaced by `by`: for text that becomes a label, such as a
 * command line.
 */
export function replaceControls(text: string, by: string): string {
  return text.replace(CONTROL_RUNS, by);
}

/**
 * A whole number written in decimal digits only, at most `maxDigits` of
 * them, as a command line or URL spells it: no sign, space, point or
 * exponent, which `Number()` would take. NaN for anything else.
 */
export function numberFromDigits(text: string, maxDigits: number): number {
  return text.length <= maxDigits && /^\d+$/.test(text) ? Number(text) : NaN;
}

/**
 * Whether `value` is a TCP port: an integer from 1 to 65535, or 0 with
 * `anyFree` (where listening on 0 asks for any free port).
 */
export function isPort(value: unknown, anyFree = false): value is number {
  return typeof value === "number" && Number.isInteger(value) &&
    value >= (anyFree ? 0 : 1) && value <= MAX_PORT;
}

/** Checks a port; `source` is how the value is shown, `name` names it. */
export function checkPort(
  port: unknown,
  source: string,
  name = "port",
): number {
  if (!isPort(port)) {
    throw new RangeError(
      `${name} must be an integer from 1 to ${MAX_PORT}: got ${source}`,
    );
  }
  return port;
}

/** Checks a database number; `source` is how the value is shown. */
export function checkDb(db: unknown, source: string, name = "db"): number {
  if (typeof db !== "number" || !Number.isInteger(db) || db < 0) {
    throw new RangeError(
      `${name} must be a non-negative integer: got ${source}`,
    );
  }
  return db;
}

/**
 * A port written as text (in a URL, on a command line): digits only, from 1
 * to 65535. `name` names it in the error, e.g. `--port`.
 */
export function portFromText(text: string, name = "port"): number {
  const digits = String(MAX_PORT).length;
  return checkPort(numberFromDigits(text, digits), JSON.stringify(text), name);
}

/**
 * A database number written as text: digits only. `name` names it in the
 * error, e.g. `--db`.
 */
export function dbFromText(text: string, name = "db"): number {
  return checkDb(numberFromDigits(text, 9), JSON.stringify(text), name);
}
