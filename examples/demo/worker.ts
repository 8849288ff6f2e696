/**
 * One demo process. `turns` runs the shared workload (ask, hold, pause, ask
 * again) with turn or with the polling lock and prints one JSON line per
 * turn; `hold` takes a turn and keeps it until killed. `turns` says "ready"
 * and starts when its standard input closes, so that all start together.
 *
 * Usage: worker.ts turns <turn|polling> <dir> <name>
 *        worker.ts hold <dir> <name>
 *
 * @module
 */

import { Locker } from "../../mod.ts";
import { PollingLock } from "./polling_lock.ts";
import {
  HOLD_MS,
  now,
  PAUSE_MS,
  POLL_MS,
  RESOURCE,
  TURNS,
} from "./workload.ts";

/** What a worker reports for each turn, times in ms since the epoch. */
export interface TurnRecord {
  readonly name: string;
  readonly asked: number;
  readonly granted: number;
  /** turn's number and when it was known to be in line; not for polling. */
  readonly line?: { readonly number: number; readonly drawn: number };
}

type Take = (fn: (line?: TurnRecord["line"]) => Promise<void>) => Promise<void>;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function workload(name: string, take: Take): Promise<void> {
  console.log("ready");
  await Deno.stdin.readable.pipeTo(new WritableStream());
  for (let turn = 0; turn < TURNS; turn++) {
    const asked = now();
    await take(async (line) => {
      const record: TurnRecord = { name, asked, granted: now(), line };
      console.log(JSON.stringify(record));
      await sleep(HOLD_MS);
    });
    await sleep(Math.random() * PAUSE_MS);
  }
}

const [role, ...args] = Deno.args;
if (role === "turns" && args[0] === "turn") {
  const [, dir, name] = args;
  await using locker = new Locker({ url: `file://${dir}` });
  await workload(name, (fn) => {
    // Told after the draw, when it waits; a user granted at once never is.
    let drawn: number | undefined;
    return locker.withLock(
      RESOURCE,
      (lock) => fn({ number: lock.number, drawn: drawn ?? now() }),
      { label: name, onQueue: () => drawn ??= now() },
    );
  });
} else if (role === "turns" && args[0] === "polling") {
  const [, dir, name] = args;
  const lock = new PollingLock(`${dir}/${RESOURCE}.lock`, POLL_MS);
  await workload(name, async (fn) => {
    await lock.acquire();
    try {
      await fn();
    } finally {
      await lock.release();
    }
  });
} else if (role === "hold") {
  const [dir, name] = args;
  const locker = new Locker({ url: `file://${dir}` });
  await locker.lock(RESOURCE, { label: name });
  console.log("holding");
  await new Promise(() => {}); // until killed
} else {
  throw new TypeError(`unknown role: ${Deno.args.join(" ")}`);
}
