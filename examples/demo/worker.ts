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
  /** turn's number; undefined for the polling lock. */
  readonly number?: number;
}

type Take = (fn: (number?: number) => Promise<void>) => Promise<void>;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function workload(name: string, take: Take): Promise<void> {
  console.log("ready");
  await Deno.stdin.readable.pipeTo(new WritableStream());
  for (let turn = 0; turn < TURNS; turn++) {
    const asked = now();
    await take(async (number) => {
      const record: TurnRecord = { name, asked, granted: now(), number };
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
  await workload(
    name,
    (fn) =>
      locker.withLock(RESOURCE, (lock) => fn(lock.number), { label: name }),
  );
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
