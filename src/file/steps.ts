/**
 * The file backend's steps on a queue, one per Lua script of the Redis
 * backend and with the same rules (PROTOCOL.md, "Scripts"). Each runs as
 * one QueueStep, under the lock on the resource's directory.
 *
 * @module
 */

import { presencePath, type ResourcePaths } from "./layout.ts";
import { createPresence, type Presence, readLabel } from "./presence.ts";
import { QueueStep } from "./queue.ts";
import { lastFence, nextFence } from "./fence.ts";
import { removeQuietly } from "./io.ts";
import type { Outcome } from "../messages.ts";
import type { ResetResult, ResourceStatus, UserStatus } from "../types.ts";
import type { Drawn, PollResult, ReleaseResult } from "../steps.ts";
import { commitDraw, leave, type LeaveRule, look } from "./look.ts";
import {
  refuseOtherKind,
  sharedResetOf,
  sharedStatusOf,
} from "./shared_steps.ts";

/** What a draw got, with the presence file that holds its place. */
export interface FileDrawn extends Drawn {
  readonly presence: Presence;
  /** The fencing token, when granted at once. */
  readonly fence?: bigint;
}

/**
 * Takes a number; with `tryOnly`, only if nobody holds or waits (else
 * `undefined`).
 */
export async function draw(
  paths: ResourcePaths,
  label: string,
  tryOnly: boolean,
): Promise<FileDrawn | undefined> {
  using step = await QueueStep.open(paths, true);
  refuseOtherKind(step, "plain");
  step.settle();
  const { indicator, dispenser } = step.counters ??
    { indicator: 1, dispenser: 0 };
  if (tryOnly && indicator <= dispenser) {
    step.commit();
    return undefined;
  }
  const n = dispenser + 1;
  const head = Math.min(indicator, n);
  const presence = createPresence(paths, n, label);
  step.set({ indicator: head, dispenser: n });
  step.say("assigned", n, label);
  const fence = head === n ? nextFence(paths) : undefined;
  if (fence !== undefined) step.say("started", n, undefined, fence);
  commitDraw(step, presence);
  return { n, granted: head === n, indicator: head, presence, fence };
}

/**
 * A waiter's check: skips a dead head, and grants or finds it lapsed.
 * Without `wait`, gives `undefined` at once if another step is running.
 */
export function poll(
  paths: ResourcePaths,
  n: number,
  presence: Presence,
  wait = true,
): Promise<PollResult | undefined> {
  return look(paths, n, presence, wait, (step) => {
    step.settle();
    const indicator = step.counters?.indicator;
    if (indicator === undefined || indicator > n) return { verdict: "lapsed" };
    if (indicator === n) return { verdict: "granted" };
    return { verdict: "waiting", indicator };
  });
}

/** The user leaves, as holder (completed, crashed) or waiter (left). */
export function release(
  paths: ResourcePaths,
  n: number,
  label: string,
  outcome: Outcome,
  presence: Presence,
): Promise<ReleaseResult> {
  return leave(paths, n, label, outcome, presence, PLAIN_LEAVE);
}

/** A plain turn is held by the indicator's number, and handed to the next. */
const PLAIN_LEAVE: LeaveRule = {
  holds: (step, n, ours) =>
    step.counters?.indicator === n && (ours || step.absent(n)),
  moveOn(step, n, ours, holder) {
    if (holder) {
      step.handOver(n + 1);
      return;
    }
    const counters = step.counters;
    // The newest waiter leaving un-draws its number, so no gap is left behind.
    if (
      ours && counters && counters.indicator < n && n === counters.dispenser
    ) {
      step.set({ indicator: counters.indicator, dispenser: n - 1 });
    }
    step.settle();
  },
};

/** The queue of `resource` with its live users, or `undefined` if it has none. */
export async function status(
  paths: ResourcePaths,
): Promise<ResourceStatus | undefined> {
  using step = await QueueStep.open(paths, false);
  const counters = step.counters;
  if (!step.exists || counters === undefined) return undefined;
  if (counters.places) return sharedStatusOf(step);
  const { indicator, dispenser } = counters;
  const users: UserStatus[] = [];
  for (let m = indicator; m <= dispenser; m++) {
    if (!step.alive(m)) continue;
    const label = readLabel(presencePath(paths, m));
    // No expiry: a presence lasts exactly as long as its process holds it.
    if (label !== undefined) users.push({ number: m, label, ttl: -1 });
  }
  const size = Math.max(0, dispenser - indicator + 1);
  const fence = lastFence(paths);
  return { resource: paths.resource, indicator, dispenser, size, users, fence };
}

/**
 * turn 1.0's reset tool: skips users that are gone; removes an idle queue,
 * and with `forget` its fencing token file too.
 */
export async function reset(
  paths: ResourcePaths,
  forget = false,
): Promise<ResetResult> {
  using step = await QueueStep.open(paths, false);
  const resource = paths.resource;
  let result: ResetResult = { resource, outcome: "reset", users: 0 };
  const counters = step.counters;
  if (counters === undefined) {
    result = { resource, outcome: "missing", users: 0 };
  } else if (counters.places) {
    result = sharedResetOf(step);
  } else if (counters.dispenser >= counters.indicator) {
    step.say("reset");
    step.handOver(counters.indicator);
    const now = step.counters;
    const users = now ? step.liveBetween(now.indicator, now.dispenser) : 0;
    if (users > 0) result = { resource, outcome: "in-use", users };
  }
  if (result.outcome === "reset") step.set(undefined);
  // Under the step's lock, so no draw of this resource runs meanwhile.
  if (forget && result.outcome !== "in-use") removeQuietly(paths.fence);
  step.commit();
  return result;
}
