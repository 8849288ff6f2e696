/**
 * The file backend's steps for shared turns, with the rules of the Redis
 * shared-turn scripts (PROTOCOL.md, "Shared turns") and the grant rule of
 * ../grant_rule.ts. A shared queue's state file carries its places (see
 * layout.ts); its presence files are those of plain queues.
 *
 * @module
 */

import { presencePath, type ResourcePaths } from "./layout.ts";
import { createPresence, type Presence, readLabel } from "./presence.ts";
import { QueueStep } from "./queue.ts";
import { removeQuietly } from "./io.ts";
import type { FileDrawn } from "./steps.ts";
import type { Outcome } from "../messages.ts";
import type { PollResult, ReleaseResult } from "../steps.ts";
import type { ResetResult, ResourceStatus, UserStatus } from "../types.ts";
import { admitsNow, holderCount, type QueuedTurn } from "../grant_rule.ts";
import { type SharedMode, showCapacity } from "../turn_mode.ts";
import { CapacityError, TurnModeError } from "../errors.ts";
import { commitDraw, leave, type LeaveRule, look } from "./look.ts";
import { lastFence, nextFence } from "./fence.ts";
import { placesStatus } from "../places.ts";

/** The live tickets from the head, in order; `leaving` counts as gone. */
function liveQueue(step: QueueStep, leaving = 0, all = true): QueuedTurn[] {
  const { indicator, dispenser, places } = step.counters!;
  const shared = new Set(places?.shared);
  const live: QueuedTurn[] = [];
  for (let m = indicator; m <= dispenser; m++) {
    if (m === leaving || !step.alive(m)) continue;
    live.push({ number: m, kind: shared.has(m) ? "shared" : "exclusive" });
    // Holders are a head run: past the first that waits, the rest wait too.
    if (!all && holderCount(live, places?.capacity ?? 0) < live.length) break;
  }
  return live;
}

/**
 * Grants by the grant rule: moves the head past dead users (removing their
 * files), says `granted` for each new holder but `quiet`, and makes an
 * empty queue idle. `leaving` is a user on its way out.
 */
export function grantShared(step: QueueStep, quiet = 0, leaving = 0): void {
  const counters = step.counters;
  if (!counters?.places) return;
  let head = counters.indicator;
  const { dispenser, places } = counters;
  while (head <= dispenser && (head === leaving || !step.alive(head))) {
    if (head !== leaving) removeQuietly(presencePath(step.paths, head));
    head++;
  }
  if (head > dispenser) return step.set(undefined);
  step.set({ ...counters, indicator: head });
  const live = liveQueue(step, leaving, false);
  let granted = places.granted;
  for (const holder of live.slice(0, holderCount(live, places.capacity))) {
    if (holder.number <= granted) continue;
    if (holder.number !== quiet) step.say("granted", holder.number);
    granted = holder.number;
  }
  const shared = places.shared.filter((m) => m >= head && m !== leaving);
  step.set({
    indicator: head,
    dispenser,
    places: { ...places, granted, shared },
  });
}

/** Refuses a draw of one kind on a queue of the other that has users. */
export function refuseOtherKind(
  step: QueueStep,
  asked: "plain" | "shared",
): void {
  const counters = step.counters;
  const held = counters?.places ? "shared" : "plain";
  if (counters === undefined || held === asked) return;
  // Users that are gone do not count: an idle queue takes either kind.
  if (held === "shared") grantShared(step);
  else step.settle();
  if (step.counters === undefined) return;
  step.commit();
  throw new TurnModeError(step.paths.resource, asked, held);
}

/**
 * Takes a ticket of `mode`; with `tryOnly`, only if it would hold at once
 * (else `undefined`). Throws, changing nothing, when the resource has plain
 * users or another capacity.
 */
export async function sharedDraw(
  paths: ResourcePaths,
  label: string,
  mode: SharedMode,
  tryOnly: boolean,
): Promise<FileDrawn | undefined> {
  using step = await QueueStep.open(paths, true);
  refuseOtherKind(step, "shared");
  grantShared(step);
  const counters = step.counters;
  const places = counters?.places ??
    { capacity: mode.capacity, granted: 0, shared: [] };
  if (places.capacity !== mode.capacity) {
    step.commit();
    throw new CapacityError(
      paths.resource,
      showCapacity(places.capacity),
      showCapacity(mode.capacity),
    );
  }
  const queue = counters ? liveQueue(step) : [];
  if (tryOnly && !admitsNow(queue, places.capacity, mode.kind)) {
    step.commit();
    return undefined;
  }
  const n = (counters?.dispenser ?? 0) + 1;
  const indicator = counters?.indicator ?? n;
  const presence = createPresence(paths, n, label);
  const shared = mode.kind === "shared" ? [...places.shared, n] : places.shared;
  step.set({ indicator, dispenser: n, places: { ...places, shared } });
  step.say("assigned", n, label);
  grantShared(step, n);
  const granted = n <= step.counters!.places!.granted;
  const fence = granted ? nextFence(paths) : undefined;
  if (fence !== undefined) step.say("started", n, undefined, fence);
  commitDraw(step, presence);
  return { n, granted, indicator: n - queue.length, presence, fence };
}

/**
 * A shared waiter's check: grants what dead users held up, and finds it
 * granted, waiting, or lapsed. Without `wait`, `undefined` at once if
 * another step is running.
 */
export function sharedPoll(
  paths: ResourcePaths,
  n: number,
  presence: Presence,
  wait = true,
): Promise<PollResult | undefined> {
  return look(paths, n, presence, wait, (step) => {
    grantShared(step, n);
    const counters = step.counters;
    if (!counters?.places || counters.indicator > n) {
      return { verdict: "lapsed" };
    }
    if (n <= counters.places.granted) return { verdict: "granted" };
    const ahead = step.liveBetween(counters.indicator, n - 1);
    return { verdict: "waiting", indicator: n - ahead };
  });
}

/** A shared user leaves, as holder (completed, crashed) or waiter (left). */
export function sharedRelease(
  paths: ResourcePaths,
  n: number,
  label: string,
  outcome: Outcome,
  presence: Presence,
): Promise<ReleaseResult> {
  return leave(paths, n, label, outcome, presence, SHARED_LEAVE);
}

/** A shared turn is held by a granted number; its place goes to the next. */
const SHARED_LEAVE: LeaveRule = {
  holds: (step, n, ours) => {
    const places = step.counters?.places;
    return ours && places !== undefined && n <= places.granted;
  },
  moveOn(step, n, ours, holder) {
    const counters = step.counters;
    if (ours && counters?.places && !holder && n === counters.dispenser) {
      // The newest waiter leaving un-draws its number.
      step.set({ ...counters, dispenser: n - 1 });
    }
    grantShared(step, 0, ours ? n : 0);
  },
};

/** A shared queue's status, read under the step's lock. */
export function sharedStatusOf(step: QueueStep): ResourceStatus {
  const { dispenser, places } = step.counters!;
  const users: UserStatus[] = [];
  for (const { number, kind } of liveQueue(step)) {
    const label = readLabel(presencePath(step.paths, number));
    if (label === undefined) continue;
    const holding = number <= places!.granted;
    users.push({ number, label, ttl: -1, kind, holding });
  }
  const { paths } = step;
  const fence = lastFence(paths);
  return placesStatus(
    paths.resource,
    places!.capacity,
    dispenser,
    users,
    fence,
  );
}

/** The reset tool on a shared queue: grants what dead users held up. */
export function sharedResetOf(step: QueueStep): ResetResult {
  const resource = step.paths.resource;
  step.say("reset");
  grantShared(step);
  const counters = step.counters;
  if (counters === undefined) return { resource, outcome: "reset", users: 0 };
  const users = step.liveBetween(counters.indicator, counters.dispenser);
  return { resource, outcome: "in-use", users };
}
