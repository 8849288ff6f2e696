/**
 * The lag probe: how long a process could not run its event loop.
 *
 * @module
 */

import { now } from "./history.ts";

/**
 * How often the lag probe looks, how late it must be to count, and how
 * often it says the process runs, in ms.
 */
const PROBE_MS = 50;
const LAG_MS = 200;
const ALIVE_MS = 250;

/**
 * Reports each time this process could not run its event loop for more
 * than LAG_MS (starved of CPU on a loaded machine, or stopped): the checker
 * counts that time against no bound, as it does a SIGSTOP. A lag is heard
 * only once the process runs again, so it also says every ALIVE_MS that it
 * runs: a process killed while starved leaves its last beat behind. Returns
 * the stop.
 *
 * @example
 * ```ts
 * import { probeLag } from "./lag.ts";
 * const stop = probeLag((event) => console.log(JSON.stringify(event)));
 * stop();
 * ```
 */
export function probeLag(
  emit: (
    event: { kind: "lag"; t: number; ms: number } | { kind: "alive" },
  ) => void,
): () => void {
  let last = performance.now();
  let beat = last;
  const timer = setInterval(() => {
    const at = performance.now();
    const late = at - last - PROBE_MS;
    last = at;
    if (late > LAG_MS) emit({ kind: "lag", t: now() - late, ms: late });
    if (at - beat < ALIVE_MS) return;
    beat = at;
    emit({ kind: "alive" });
  }, PROBE_MS);
  return () => clearInterval(timer);
}
