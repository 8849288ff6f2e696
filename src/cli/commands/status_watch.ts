/**
 * The loop behind `turn status --watch`: redraw on every event (and every
 * second on a terminal, so the times tick) until Ctrl-C.
 *
 * On a terminal each frame replaces the last; elsewhere (a pipe, a file) each
 * change appends a frame, without escape codes. Colour is off with NO_COLOR.
 *
 * @module
 */

import { ExitCode } from "../errors.ts";
import { aborted, interruption } from "../signals.ts";
import { COLOURED, PLAIN, renderWatch, WatchTimes } from "../view/watch.ts";
import type { Locker } from "../../../mod.ts";
import { write } from "../output.ts";
import { stdoutStyle } from "../platform.ts";
import { deferred } from "../../deferred.ts";

const TICK_MS = 1_000;
const CLEAR_SCREEN = "\x1b[H\x1b[2J";

/**
 * Watches `names` (every resource if `undefined`) until SIGINT or SIGTERM.
 *
 * @param locker Where to watch.
 * @param names The resources, or `undefined` for all.
 * @returns The exit code.
 *
 * @example Usage
 * ```ts ignore
 * import { watch } from "./status_watch.ts";
 * await watch(locker, ["printer"]);
 * ```
 */
export async function watch(
  locker: Locker,
  names: readonly string[] | undefined,
): Promise<number> {
  using interrupt = interruption();
  const { signal } = interrupt;
  const { terminal, colour } = stdoutStyle();
  const style = colour ? COLOURED : PLAIN;
  const times = new WatchTimes(Date.now());
  let change = deferred<void>();
  let failure: unknown;
  const events = locker.follow(names, { signal });
  // Subscribed before the first frame, so no change after it goes unseen.
  await events.ready;
  (async () => {
    for await (const event of events) {
      times.observe(event);
      change.resolve();
    }
  })().catch((error) => {
    failure = error;
    change.resolve();
  });
  for (let frame = 0; !signal.aborted; frame++) {
    if (failure !== undefined) throw failure;
    const statuses = await locker.status(names);
    const text = renderWatch(statuses, times, Date.now(), style).join("\n");
    write(
      terminal ? `${CLEAR_SCREEN}${text}\n` : `${frame ? "\n" : ""}${text}\n`,
    );
    await Promise.race([
      change.promise,
      aborted(signal),
      ...(terminal ? [delay(TICK_MS, signal)] : []),
    ]);
    change = deferred<void>();
  }
  return ExitCode.Ok;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  });
}
