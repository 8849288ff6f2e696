/**
 * The version `turn --version` prints: the package's, as deno.json and the
 * npm package give it (a test keeps them equal).
 *
 * @module
 */

/**
 * The version of this package.
 *
 * @example Usage
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(`turn ${VERSION}`);
 * ```
 */
export const VERSION = "0.1.0";
