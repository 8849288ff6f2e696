/**
 * The steps of shared turns on Redis (shared_scripts.ts), as typed calls
 * giving the same results as the plain steps (steps.ts), so the engine
 * takes both kinds of ticket through their turns the same way. A shared
 * waiter's "indicator" is its number less the live users ahead of it.
 *
 * @module
 */

import type { ScriptCall } from "./eval.ts";
import type { ResourceKeys } from "./keys.ts";
import { scriptFor } from "./scripts.ts";
import { claimKey, sharedKeysOf } from "./shared_keys.ts";
import {
  SHARED_DRAW,
  SHARED_POLL,
  SHARED_RELEASE,
  SHARED_RENEW,
  SHARED_RESET,
  SHARED_STATUS,
  sharedArgs,
} from "./shared_scripts.ts";
import type {
  Busy,
  DrawArgs,
  Place,
  RedisDrawn,
  RedisPollResult,
  RedisReleaseResult,
  Step,
  Target,
} from "./steps.ts";
import type { Outcome } from "../messages.ts";
import type {
  ResetResult,
  ResourceStatus,
  TurnKind,
  UserStatus,
} from "../types.ts";
import { type SharedMode, showCapacity } from "../turn_mode.ts";
import { CapacityError, TurnModeError } from "../errors.ts";
import { placesStatus } from "../places.ts";

type Reply = readonly (number | string)[];
type Arg = string | number;

function callOf(
  script: typeof SHARED_DRAW,
  target: Target,
  keys: readonly string[],
  args: readonly Arg[],
): ScriptCall {
  const shared = sharedKeysOf(target.keys);
  return {
    script: scriptFor(script, target.variant),
    keys: [shared.line, ...keys],
    args: [...sharedArgs(shared), ...args],
  };
}

function claimOf(target: Target, token: string): string {
  return claimKey(sharedKeysOf(target.keys), token);
}

/** Takes a ticket of `mode`; throws when the resource refuses it. */
export function sharedDraw(
  mode: SharedMode,
  target: Target,
  args: DrawArgs,
  tryOnly: boolean,
): Step<RedisDrawn | Busy> {
  const { keys } = target;
  const { label, expire, token } = args;
  const call = callOf(SHARED_DRAW, target, [claimOf(target, token)], [
    label,
    expire,
    tryOnly ? 1 : 0,
    token,
    mode.kind,
    mode.capacity,
    keys.fence,
    keys.dispenser,
    keys.indicator,
    keys.presencePrefix,
  ]);
  return { call, read: (value) => drawnOf(keys, mode, value as Reply) };
}

function drawnOf(
  keys: ResourceKeys,
  mode: SharedMode,
  [n, second, third]: Reply,
): RedisDrawn | Busy {
  const first = Number(n);
  if (first === -2) {
    throw new CapacityError(
      keys.resource,
      showCapacity(Number(second)),
      showCapacity(mode.capacity),
    );
  }
  if (first === -3) throw new TurnModeError(keys.resource, "shared", "plain");
  if (first === 0) return { stuck: 0 };
  if (Number(second) === 1) {
    return {
      n: first,
      granted: true,
      indicator: first,
      fence: BigInt(third),
      foreign: false,
    };
  }
  return {
    n: first,
    granted: false,
    indicator: first - Number(third),
    fence: 0n,
    foreign: false,
  };
}

/** A shared waiter's heartbeat and check. */
export function sharedPoll(
  target: Target,
  place: Place,
  expire: number,
): Step<RedisPollResult> {
  const { n, token } = place;
  const call = callOf(SHARED_POLL, target, [claimOf(target, token)], [
    n,
    token,
    expire,
    target.keys.fence,
  ]);
  return {
    call,
    read: (value) => {
      const [verdict, second, third] = value as Reply;
      if (Number(verdict) < 0) return { verdict: "lapsed" };
      if (Number(verdict) === 1) {
        return { verdict: "granted", fence: BigInt(second) };
      }
      return {
        verdict: "waiting",
        indicator: n - Number(second),
        aheadTtl: Number(third),
        foreign: false,
      };
    },
  };
}

/** A shared holder's heartbeat: true while it still holds. */
export function sharedRenew(
  target: Target,
  place: Place,
  expire: number,
): Step<boolean> {
  const { n, token } = place;
  const call = callOf(SHARED_RENEW, target, [claimOf(target, token)], [
    n,
    token,
    expire,
  ]);
  return { call, read: (value) => Number(value) === 1 };
}

/** A shared user leaves, as holder (completed, crashed) or waiter (left). */
export function sharedRelease(
  target: Target,
  place: Place,
  outcome: Outcome,
): Step<RedisReleaseResult> {
  const { n, token } = place;
  const call = callOf(SHARED_RELEASE, target, [claimOf(target, token)], [
    n,
    token,
    outcome,
  ]);
  return {
    call,
    read: (value) => {
      const [holder, ahead] = value as Reply;
      return { holder: Number(holder) === 1, ahead: Number(ahead), stuck: 0 };
    },
  };
}

/** The reset tool on a resource's shared queue. */
export function sharedReset(
  target: Target,
  forget: boolean,
): Step<ResetResult> {
  const { keys } = target;
  return {
    call: callOf(SHARED_RESET, target, [], [
      forget ? 1 : 0,
      keys.fence,
      keys.dispenser,
    ]),
    read: (value) => {
      const [outcome, users] = value as Reply;
      return {
        resource: keys.resource,
        outcome: outcome as ResetResult["outcome"],
        users: Number(users),
      };
    },
  };
}

/** A resource's shared queue with its live users, or `undefined`. */
export function sharedStatus(
  target: Target,
): Step<ResourceStatus | undefined> {
  const { resource, fence } = target.keys;
  return {
    call: callOf(SHARED_STATUS, target, [], [fence]),
    read: (value) => {
      const reply = value as Reply;
      return reply.length === 0 ? undefined : statusOf(resource, reply);
    },
  };
}

function statusOf(resource: string, reply: Reply): ResourceStatus {
  const [capacity, granted, last] = reply.slice(0, 3).map(Number);
  const fence = BigInt(String(reply[3]));
  const users: UserStatus[] = [];
  for (let i = 4; i < reply.length; i += 4) {
    const number = Number(reply[i]);
    users.push({
      number,
      label: String(reply[i + 1]),
      ttl: Number(reply[i + 2]),
      kind: String(reply[i + 3]) as TurnKind,
      holding: number <= granted,
    });
  }
  return placesStatus(resource, capacity, last, users, fence);
}
