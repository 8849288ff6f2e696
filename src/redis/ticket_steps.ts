/**
 * The steps that take one ticket through its turn on Redis, by the kind of
 * turn: plain (turn 1.0's scripts) or shared (the shared-turn scripts).
 * The engine asks a ticket for its steps and never tells the kinds apart.
 *
 * @module
 */

import {
  type Busy,
  draw,
  type DrawArgs,
  type Place,
  poll,
  type RedisDrawn,
  type RedisPollResult,
  type RedisReleaseResult,
  release,
  renew,
  type Step,
  type Target,
  tryDraw,
} from "./steps.ts";
import {
  sharedDraw,
  sharedPoll,
  sharedRelease,
  sharedRenew,
} from "./shared_steps.ts";
import type { Outcome } from "../messages.ts";
import type { SharedMode } from "../turn_mode.ts";

/** The steps of one kind of turn. */
export interface TicketSteps {
  draw(target: Target, args: DrawArgs): Step<RedisDrawn>;
  tryDraw(target: Target, args: DrawArgs): Step<RedisDrawn | Busy>;
  poll(target: Target, place: Place, expire: number): Step<RedisPollResult>;
  renew(target: Target, place: Place, expire: number): Step<boolean>;
  release(
    target: Target,
    place: Place,
    outcome: Outcome,
  ): Step<RedisReleaseResult>;
  /**
   * Whether a waiter bumps after `patience` without news: plain turns only,
   * where a turn 1.0 client may hand over without a word. Every shared grant
   * is announced by the script that makes it.
   */
  readonly bumps: boolean;
}

/** turn 1.0's scripts. */
export const PLAIN_STEPS: TicketSteps = {
  draw,
  tryDraw,
  poll,
  renew,
  release,
  bumps: true,
};

/** The steps of a ticket of `mode` (plain when `undefined`). */
export function stepsFor(mode: SharedMode | undefined): TicketSteps {
  if (mode === undefined) return PLAIN_STEPS;
  return {
    draw: (target, args) => {
      const step = sharedDraw(mode, target, args, false);
      // Without try, a draw always gets a number (or throws).
      return step as Step<RedisDrawn>;
    },
    tryDraw: (target, args) => sharedDraw(mode, target, args, true),
    poll: sharedPoll,
    renew: sharedRenew,
    release: sharedRelease,
    bumps: false,
  };
}
