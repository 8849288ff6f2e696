/**
 * The parts every file step of a user shares, plain or shared: a look at
 * its place (poll), the commit of a draw, and a leave. Each step supplies
 * only its rule.
 *
 * @module
 */

import type { ResourcePaths } from "./layout.ts";
import type { Presence } from "./presence.ts";
import { QueueStep } from "./queue.ts";
import type { Outcome } from "../messages.ts";
import type { PollResult, ReleaseResult } from "../steps.ts";
import { nextFence } from "./fence.ts";

/** What a rule finds at a user's place; a grant's token is the look's. */
export type Finding =
  | { readonly verdict: "granted" | "lapsed" }
  | { readonly verdict: "waiting"; readonly indicator: number };

/**
 * A look by the owner of `presence` at its place `n`: lapsed if the place
 * is no longer its own, else what `rule` finds (a lapse removes the
 * presence; a grant issues a fencing token and says `started` with it).
 * Without `wait`, `undefined` at once when another step is running.
 */
export async function look(
  paths: ResourcePaths,
  n: number,
  presence: Presence,
  wait: boolean,
  rule: (step: QueueStep) => Finding,
): Promise<PollResult | undefined> {
  using step = wait
    ? await QueueStep.open(paths, false)
    : await QueueStep.tryOpen(paths);
  if (step === undefined) return undefined;
  let found: Finding = { verdict: "lapsed" };
  if (!step.owns(presence)) presence.close();
  else {
    found = rule(step);
    if (found.verdict === "lapsed") presence.remove();
  }
  let result: PollResult;
  if (found.verdict === "granted") {
    const fence = nextFence(paths);
    step.say("started", n, undefined, fence);
    result = { verdict: "granted", fence };
  } else if (found.verdict === "waiting") result = found;
  else {
    step.say("lapsed", n);
    result = { verdict: "lapsed" };
  }
  step.commit();
  return result;
}

/** Commits a draw; on failure its new presence goes too. */
export function commitDraw(step: QueueStep, presence: Presence): void {
  try {
    step.commit();
  } catch (error) {
    presence.remove();
    throw error;
  }
}

/** What a leaving user says, as holder or (if it owned its place) waiter. */
function sayLeaving(
  step: QueueStep,
  n: number,
  label: string,
  outcome: Outcome,
  holder: boolean,
  ours: boolean,
): void {
  if (holder && outcome === "crashed") step.say("crashed", n);
  if (holder && outcome === "completed") step.say("completed", n, label);
  if (ours && outcome === "left") step.say("left", n);
}

/**
 * Commits a leave and lets go of the presence: before the commit when the
 * queue went idle (its directory goes then), else only after it, so the
 * user behind, woken when this file goes, finds the turn already passed on
 * and can take it without the lock.
 */
function commitLeave(
  step: QueueStep,
  presence: Presence,
  ours: boolean,
): void {
  const leave = () => ours ? presence.remove() : presence.close();
  if (step.counters === undefined) leave();
  try {
    step.commit();
  } finally {
    leave();
  }
}

/** What a kind of turn decides as its user leaves, under the lock. */
export interface LeaveRule {
  /** Whether the user of `n` leaving holds the turn. */
  holds(step: QueueStep, n: number, ours: boolean): boolean;
  /** Moves the queue on, after the leaving is announced. */
  moveOn(step: QueueStep, n: number, ours: boolean, holder: boolean): void;
}

/**
 * The owner of `presence` leaves its place `n`, as holder (completed,
 * crashed) or waiter (left): announced, the queue moved on by `rule`, and
 * committed.
 */
export async function leave(
  paths: ResourcePaths,
  n: number,
  label: string,
  outcome: Outcome,
  presence: Presence,
  rule: LeaveRule,
): Promise<ReleaseResult> {
  using step = await QueueStep.open(paths, false);
  const ours = step.owns(presence);
  const holder = rule.holds(step, n, ours);
  const indicator = step.counters?.indicator;
  const ahead = indicator !== undefined && indicator < n
    ? step.liveBetween(indicator, n - 1)
    : 0;
  sayLeaving(step, n, label, outcome, holder, ours);
  rule.moveOn(step, n, ours, holder);
  commitLeave(step, presence, ours);
  return { holder, ahead };
}
