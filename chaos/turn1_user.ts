/**
 * A turn 1.0 (Python) user joining a chaos run, through the stand-in client
 * of the interop tests: it draws, waits, holds briefly, then completes or
 * crashes the way turn 1.0 does (announces `crashed!` and deletes its
 * presence without moving the indicator). Its presence is set once and never
 * refreshed, so it gives up waiting well before that presence lapses.
 *
 * @module
 */

import { turn1Lock, type Turn1User } from "../support/turn1_client.ts";
import { type ChaosEvent, now } from "./history.ts";
import { Witness } from "./witness.ts";

/** turn 1.0's shortest presence TTL, in seconds. */
const EXPIRE_SECONDS = 3;
/** Wait no longer than this, so the presence outlives the whole turn. */
const WAIT_MS = 1800;
/** How long a draw sent while Redis was away may still take to land. */
const LATE_DRAW_MS = 10_000;

/**
 * What one turn 1.0 user does.
 *
 * @example
 * ```ts
 * import type { Turn1Plan } from "./turn1_user.ts";
 * const plan: Turn1Plan = {
 *   who: "t1.0",
 *   port: 6390,
 *   resource: "r0",
 *   holdMs: 100,
 *   crash: true,
 *   witness: "/tmp/witness",
 * };
 * ```
 */
export interface Turn1Plan {
  readonly who: string;
  readonly port: number;
  readonly resource: string;
  readonly holdMs: number;
  readonly crash: boolean;
  readonly witness: string;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Runs one turn 1.0 user to its end; every event goes to `record`.
 *
 * @example
 * ```ts ignore
 * import { runTurn1 } from "./turn1_user.ts";
 * await runTurn1(plan, (event) => history.push(event));
 * ```
 */
export async function runTurn1(
  plan: Turn1Plan,
  record: (event: ChaosEvent) => void,
): Promise<void> {
  const { who, resource } = plan;
  const emit = (event: Record<string, unknown>) =>
    record({ t: now(), who, op: 1, ...event } as ChaosEvent);
  const start = now();
  emit({
    kind: "op",
    call: "turn1",
    resources: [resource],
    expire: EXPIRE_SECONDS * 1000,
  });
  emit({ kind: "acquiring", resource });
  const drawing = turn1Lock(plan.port, resource, who, EXPIRE_SECONDS);
  const user = await within(drawing, WAIT_MS).catch(() => undefined);
  if (user === undefined) {
    // Redis is down or slow: turn 1.0 would die here, leaving what it made.
    // Its draw may still land: wait for it (bounded), so that its presence
    // is in the history before the last user comes.
    const closed = drawing.then((late) => {
      // Its wait ends with the connection: nobody is left to hear of it.
      late.started.catch(() => {});
      late.close();
    });
    await within(closed, LATE_DRAW_MS).catch(() => {});
    return emit({ kind: "failed", error: "Turn1Down", message: "no draw" });
  }
  try {
    await hold(user, plan, start, emit);
  } finally {
    user.close();
  }
}

async function hold(
  user: Turn1User,
  plan: Turn1Plan,
  start: number,
  emit: (event: Record<string, unknown>) => void,
): Promise<void> {
  const waited = await within(
    user.started.then(() => true),
    start + WAIT_MS - now(),
  ).catch(() => undefined);
  if (!waited) {
    await user.crash().catch(() => {});
    return emit({ kind: "failed", error: "Turn1GaveUp", message: "crashed" });
  }
  const witness = new Witness(plan.witness, `${plan.who}.1`);
  // turn 1.0 has no lease to look at: it holds for as long as its block runs.
  const displaced = await witness.enter(plan.resource, () => true);
  emit({
    kind: "granted",
    resource: plan.resource,
    number: user.number,
    ...(displaced.length ? { displaced } : {}),
  });
  await new Promise((resolve) => setTimeout(resolve, plan.holdMs));
  const inside = await witness.inside(plan.resource);
  emit({ kind: "leave", ok: true });
  if (!inside) emit({ kind: "overlap", resource: plan.resource });
  await witness.leave(plan.resource);
  await (plan.crash ? user.crash() : user.complete()).catch(() => {});
  emit({ kind: "released", ...(plan.crash ? { handsOn: false } : {}) });
}
