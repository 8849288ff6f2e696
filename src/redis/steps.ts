/**
 * The Redis backend's steps on a queue, one per Lua script (scripts.ts), as
 * typed calls: each step is the script call and how to read its reply, so
 * the engine deals in results (the same as the file backend's, src/steps.ts)
 * and never in raw replies. Steps run alone (`run`) or many in one round trip
 * (`runGroups`), as the heartbeat does.
 *
 * @module
 */

import type { Client } from "./client.ts";
import { runAndRead, runScripts, type ScriptCall } from "./eval.ts";
import { drawKey, presenceKey, type ResourceKeys, tokenKey } from "./keys.ts";
import {
  BUMP,
  commonArgs,
  DRAW,
  POLL,
  RELEASE,
  RENEW,
  RESET,
  type Script,
  scriptFor,
  type ScriptVariant,
  STATUS,
} from "./scripts.ts";
import type { Outcome } from "../messages.ts";
import { TurnModeError } from "../errors.ts";
import type { Drawn, ReleaseResult } from "../steps.ts";
import type { ResetResult, ResourceStatus, UserStatus } from "../types.ts";

/** One step: the script call, and how to read its reply. */
export interface Step<R> {
  readonly call: ScriptCall;
  readonly read: (reply: unknown) => R;
}

/**
 * `step`, with `apply` run on its result as the reply is read: the caller
 * gets what `apply` returns with no promise in between.
 */
export function applying<R, S>(
  step: Step<R>,
  apply: (result: R) => S,
): Step<S> {
  return { call: step.call, read: (reply) => apply(step.read(reply)) };
}

/** A step's outcome in a batch: its result, or why it failed. */
export type Settled<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: Error };

/** Where a step runs: the resource's keys and the kind of server. */
export interface Target {
  readonly keys: ResourceKeys;
  readonly variant: ScriptVariant;
}

/** A user's own place: its number, label and the token of its draw. */
export interface Place {
  readonly n: number;
  readonly label: string;
  readonly token: string;
}

/**
 * What a draw got, with the fencing token of a grant (0n while waiting) and,
 * while waiting, whether the holder is a user this module does not wake (a
 * turn 1.0 client, which hands over on the internal channel only).
 */
export interface RedisDrawn extends Drawn {
  readonly fence: bigint;
  readonly foreign: boolean;
}

/**
 * What a try found instead of a number: the resource is busy. `stuck` is
 * the newest number if it has no presence yet (a turn 1.0 client may be
 * mid-draw), else 0.
 */
export interface Busy {
  readonly stuck: number;
}

/** A poll's verdict, with the fence of a grant or the holder's time to live. */
export type RedisPollResult =
  | { readonly verdict: "granted"; readonly fence: bigint }
  | { readonly verdict: "lapsed" }
  | {
    readonly verdict: "waiting";
    readonly indicator: number;
    /**
     * The presence TTL in ms of the nearest live user ahead (the holder, for
     * the first waiter), or negative if there is none or it has no TTL.
     */
    readonly aheadTtl: number;
    /** The holder is not a client of this module (see RedisDrawn). */
    readonly foreign: boolean;
  };

/** What leaving did, and the newest number left without presence (or 0). */
export interface RedisReleaseResult extends ReleaseResult {
  readonly stuck: number;
}

/** What a draw is told. */
export interface DrawArgs {
  readonly label: string;
  readonly expire: number;
  readonly token: string;
  /** The newest number, seen without presence for a grace period, or 0. */
  readonly skip: number;
}

type Reply = readonly (number | string)[];
type Arg = string | number;

function callOf(
  script: Script,
  target: Target,
  args: readonly Arg[],
  userKeys: readonly string[] = [],
): ScriptCall {
  const { keys, variant } = target;
  return {
    script: scriptFor(script, variant),
    keys: [keys.dispenser, keys.indicator, ...userKeys],
    args: [...commonArgs(keys), ...args],
  };
}

/** A script about a user's own place: its presence, token and draw keys. */
function userCallOf(
  script: Script,
  target: Target,
  place: Place,
  extra: readonly Arg[],
): ScriptCall {
  const { keys } = target;
  const { n, label, token } = place;
  return callOf(script, target, [n, label, ...extra, token], [
    presenceKey(keys, n),
    tokenKey(keys, n),
    drawKey(keys, token),
  ]);
}

function replyOf(reply: unknown): Reply {
  return reply as Reply;
}

/** Takes a number: granted at once, or waiting behind the indicator. */
export function draw(target: Target, args: DrawArgs): Step<RedisDrawn> {
  const call = drawCall(target, args, false);
  return {
    call,
    read: (value) => drawnOf(target.keys.resource, replyOf(value)),
  };
}

/** Takes a number only if nobody holds or waits; else finds it busy. */
export function tryDraw(
  target: Target,
  args: DrawArgs,
): Step<RedisDrawn | Busy> {
  const call = drawCall(target, args, true);
  return {
    call,
    read: (value) => {
      const reply = replyOf(value);
      // A try that got a number got the turn with it.
      return Number(reply[0]) === 0
        ? { stuck: Number(reply[2]) }
        : drawnOf(target.keys.resource, reply);
    },
  };
}

function drawCall(
  target: Target,
  args: DrawArgs,
  tryOnly: boolean,
): ScriptCall {
  const { label, expire, token, skip } = args;
  return callOf(
    DRAW,
    target,
    [label, expire, tryOnly ? 1 : 0, skip, token],
    [drawKey(target.keys, token)],
  );
}

function drawnOf(
  resource: string,
  [n, granted, third, foreign]: Reply,
): RedisDrawn {
  if (Number(n) === -3) throw new TurnModeError(resource, "plain", "shared");
  if (Number(granted) === 1) {
    return {
      n: Number(n),
      granted: true,
      indicator: Number(n),
      fence: BigInt(third),
      foreign: false,
    };
  }
  return {
    n: Number(n),
    granted: false,
    indicator: Number(third),
    fence: 0n,
    foreign: Number(foreign) === 1,
  };
}

/** A waiter's heartbeat and check: granted, waiting, or lapsed. */
export function poll(
  target: Target,
  place: Place,
  expire: number,
): Step<RedisPollResult> {
  const call = userCallOf(POLL, target, place, [expire, 0]);
  return {
    call,
    read: (value) => {
      const [verdict, second, third, foreign] = replyOf(value);
      if (Number(verdict) < 0) return { verdict: "lapsed" };
      if (Number(verdict) === 1) {
        return { verdict: "granted", fence: BigInt(second) };
      }
      return {
        verdict: "waiting",
        indicator: Number(second),
        aheadTtl: Number(third),
        foreign: Number(foreign) === 1,
      };
    },
  };
}

/** A holder's heartbeat: true while the turn is still its own. */
export function renew(
  target: Target,
  place: Place,
  expire: number,
): Step<boolean> {
  const call = userCallOf(RENEW, target, place, [expire]);
  return { call, read: (value) => Number(value) === 1 };
}

/** The user leaves, as holder (completed, crashed) or waiter (left). */
export function release(
  target: Target,
  place: Place,
  outcome: Outcome,
): Step<RedisReleaseResult> {
  const call = userCallOf(RELEASE, target, place, [outcome, 0]);
  return {
    call,
    read: (value) => {
      const [holder, ahead, stuck] = replyOf(value);
      return {
        holder: Number(holder) === 1,
        ahead: Number(ahead),
        stuck: Number(stuck),
      };
    },
  };
}

/**
 * turn 1.0's bump: hands the turn to the first live number. `skip` is a
 * newest number to skip, `bumper` the number that ran out of patience (or
 * 0). Gives the number granted, or 0 when the resource has no queue.
 */
export function bump(
  target: Target,
  skip: number,
  bumper: number,
): Step<number> {
  return { call: callOf(BUMP, target, [skip, bumper]), read: Number };
}

/** turn 1.0's reset tool; `forget` also drops the fence of an idle queue. */
export function reset(target: Target, forget: boolean): Step<ResetResult> {
  const { keys } = target;
  return {
    call: callOf(RESET, target, [forget ? 1 : 0]),
    read: (value) => {
      const [outcome, users] = replyOf(value);
      return {
        resource: keys.resource,
        outcome: outcome as ResetResult["outcome"],
        users: Number(users),
      };
    },
  };
}

/** The queue with its live users, or `undefined` if it has none. */
export function status(target: Target): Step<ResourceStatus | undefined> {
  const { resource } = target.keys;
  return {
    call: callOf(STATUS, target, []),
    read: (value) => {
      const reply = replyOf(value);
      return reply.length === 0 ? undefined : statusOf(resource, reply);
    },
  };
}

function statusOf(resource: string, reply: Reply): ResourceStatus {
  const [indicator, dispenser] = [Number(reply[0]), Number(reply[1])];
  const fence = BigInt(String(reply[2]));
  const users: UserStatus[] = [];
  for (let index = 3; index < reply.length; index += 3) {
    users.push({
      number: Number(reply[index]),
      label: String(reply[index + 1]),
      ttl: Number(reply[index + 2]),
    });
  }
  const size = Math.max(0, dispenser - indicator + 1);
  return { resource, indicator, dispenser, size, users, fence };
}

/**
 * Runs one step and reads its reply. While its slot is being moved, it
 * tries again as long as `keepTrying()` says so (see eval.ts).
 */
export function run<R>(
  client: Client,
  step: Step<R>,
  keepTrying?: () => boolean,
): Promise<R> {
  return runAndRead(client, step.call, step.read, keepTrying);
}

/** Named groups of steps, run together. */
export type StepGroups = Readonly<Record<string, readonly Step<unknown>[]>>;

/** The outcomes of `StepGroups`, group by group, in the order given. */
export type GroupOutcomes<G extends StepGroups> = {
  readonly [K in keyof G]: Settled<
    G[K][number] extends Step<infer R> ? R : never
  >[];
};

/** Runs every step of `groups` in one round trip (see eval.ts, runScripts). */
export async function runGroups<G extends StepGroups>(
  client: Client,
  groups: G,
): Promise<GroupOutcomes<G>> {
  const steps = Object.values(groups).flat();
  const results = await runScripts(client, steps.map((step) => step.call));
  const settled = results.map((result, index): Settled<unknown> =>
    result.ok ? { ok: true, value: steps[index].read(result.value) } : result
  );
  let start = 0;
  const outcomes: Record<string, Settled<unknown>[]> = {};
  for (const [name, group] of Object.entries(groups)) {
    outcomes[name] = settled.slice(start, start += group.length);
  }
  return outcomes as GroupOutcomes<G>;
}
