/**
 * What a worker does next, drawn from its seeded stream: the call, its
 * resources and options, how long it holds, and whether its work fails.
 *
 * @module
 */

import type { Call } from "./history.ts";
import type { Random } from "./random.ts";

/**
 * One operation of a worker.
 *
 * @example
 * ```ts
 * import { drawOp } from "./plan.ts";
 * import { Random } from "./random.ts";
 * const plan = drawOp(new Random(7), ["r0", "r1"], "w0");
 * ```
 */
export interface OpPlan {
  readonly call: Exclude<Call, "turn1">;
  readonly resources: readonly string[];
  readonly label: string;
  readonly expire: number;
  readonly patience?: number;
  readonly timeout?: number;
  /** Abort the operation's signal this long after it starts. */
  readonly abortAfter?: number;
  /** The length of each step of work while holding, in ms. */
  readonly steps: readonly number[];
  /** The work fails: release as crashed, or throw inside withLock. */
  readonly crash: boolean;
  /** Idle this long after the operation. */
  readonly pauseAfter: number;
  /** The onQueue callback throws (a user's bug must not break the Locker). */
  readonly throwingOnQueue: boolean;
  /** A shared turn on SHARED_RESOURCE: its capacity. */
  readonly capacity?: number;
  /** A shared turn: `true` beside others, `false` alone. */
  readonly shared?: boolean;
}

/**
 * The resource of shared turns (capacity {@linkcode SHARED_CAPACITY}): plain
 * turns never share a resource with them, so it is one of its own.
 *
 * @example
 * ```ts
 * import { SHARED_RESOURCE } from "./plan.ts";
 * console.log(SHARED_RESOURCE);
 * ```
 */
export const SHARED_RESOURCE = "shared0";

/**
 * How many shared holders {@linkcode SHARED_RESOURCE} admits.
 *
 * @example
 * ```ts
 * import { SHARED_CAPACITY } from "./plan.ts";
 * console.log(SHARED_CAPACITY);
 * ```
 */
export const SHARED_CAPACITY = 2;

const SHARED_CALLS = { lock: 4, tryLock: 2, withLock: 3 } as const;

// Short expires make dead holders cost little; a long one makes a waiter's
// heartbeat (expire / 3) slower than the liveness slack, which is where a
// recovery that waits for the beat shows.
const EXPIRES = { 500: 3, 1000: 3, 2000: 2, 5000: 1, 12000: 2, 20000: 1 };

/**
 * The longest presence TTL an operation draws, in ms.
 *
 * @example
 * ```ts
 * import { LONGEST_EXPIRE } from "./plan.ts";
 * console.log(LONGEST_EXPIRE);
 * ```
 */
export const LONGEST_EXPIRE: number = Math.max(
  ...Object.keys(EXPIRES).map(Number),
);
const CALLS = { lock: 4, tryLock: 2, lockAll: 2, withLock: 3 } as const;

/**
 * Draws the next operation of worker `name` over `resources`.
 *
 * @example
 * ```ts
 * import { drawOp } from "./plan.ts";
 * import { Random } from "./random.ts";
 * const { call } = drawOp(new Random(1), ["r0"], "w1");
 * ```
 */
export function drawOp(
  random: Random,
  resources: readonly string[],
  name: string,
): OpPlan {
  // A quarter of the operations take shared turns, a fifth of those alone.
  const sharedOp = random.chance(0.25);
  const call = sharedOp
    ? random.weighted(SHARED_CALLS)
    : random.weighted(CALLS);
  const count = call === "lockAll" ? random.int(2, resources.length) : 1;
  const waits = call !== "tryLock";
  return {
    call,
    resources: sharedOp
      ? [SHARED_RESOURCE]
      : pickDistinct(random, resources, count),
    ...(sharedOp
      ? { capacity: SHARED_CAPACITY, shared: !random.chance(0.2) }
      : {}),
    // Mostly one shared label, as the CLI's defaults make them: a user that
    // was skipped must never take over another's presence with that label.
    label: random.chance(0.7) ? "job" : name,
    expire: Number(random.weighted(EXPIRES)),
    patience: random.chance(0.4) ? random.pick([300, 1000, 3000]) : undefined,
    timeout: waits && random.chance(0.5) ? random.int(100, 4000) : undefined,
    abortAfter: waits && random.chance(0.15) ? random.int(50, 3000) : undefined,
    steps: Array.from({ length: random.int(1, 6) }, () => random.int(10, 120)),
    crash: random.chance(0.15),
    pauseAfter: random.int(0, 150),
    throwingOnQueue: waits && random.chance(0.05),
  };
}

function pickDistinct(
  random: Random,
  items: readonly string[],
  count: number,
): string[] {
  const left = [...items];
  const picked: string[] = [];
  while (picked.length < count) {
    picked.push(left.splice(random.int(0, left.length - 1), 1)[0]);
  }
  return picked;
}
