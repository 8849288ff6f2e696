/**
 * One resource as the dashboard sees it: its latest status, and what its
 * events said about when each user joined and got the turn. Turns both into
 * the view the page shows.
 *
 * turn's keys hold no timestamps, so times come from the events seen since
 * the dashboard started; a user already there when it started (or first seen
 * without an event) is shown as waiting or holding "since at least" then.
 *
 * @module
 */

import type {
  PlacesStatus,
  ResourceStatus,
  TurnEvent,
  UserStatus,
} from "../types.ts";
import { type Health, type HealthRule, judge } from "./health.ts";
import type { History } from "./history.ts";

/**
 * One user on the page.
 *
 * @example
 * ```ts
 * import type { UserView } from "./track.ts";
 * const user: UserView = { number: 7, label: "report 42", since: 0, atLeast: false, ttl: 60_000 };
 * ```
 */
export interface UserView {
  /** The user's number. */
  readonly number: number;
  /** The user's label. */
  readonly label: string;
  /** When it joined (a waiter) or got the turn (the holder), ms since the epoch. */
  readonly since: number;
  /** Whether `since` is only a lower bound (it was there before it was seen). */
  readonly atLeast: boolean;
  /** Presence TTL in ms when read (-1: none, as on the file backend). */
  readonly ttl: number;
}

/**
 * A number whose turn it is but whose user looks dead.
 *
 * @example
 * ```ts
 * import type { DeadHead } from "./track.ts";
 * const dead: DeadHead = { number: 3, cause: "gone", skipIn: 0 };
 * ```
 */
export interface DeadHead {
  /** The number whose turn it is. */
  readonly number: number;
  /** `gone`: no presence; `unrenewed`: its presence runs out unrenewed. */
  readonly cause: "gone" | "unrenewed";
  /**
   * Milliseconds until a waiter skips it, from `at`: 0 for at the next check,
   * `null` when nobody waits to skip it.
   */
  readonly skipIn: number | null;
}

/**
 * One resource on the page.
 *
 * @example
 * ```ts
 * import type { ResourceView } from "./track.ts";
 * const idle: ResourceView = {
 *   resource: "printer", indicator: 3, dispenser: 2, size: 0, at: 0,
 *   holder: null, alsoHolding: [], places: null, waiters: [], deadHead: null,
 *   movedAt: 0, movedAtLeast: true, health: "ok", reason: "nobody waits",
 * };
 * ```
 */
export interface ResourceView {
  /** The resource's name. */
  readonly resource: string;
  /** The number whose turn it is. */
  readonly indicator: number;
  /** The last number handed out. */
  readonly dispenser: number;
  /** Tickets in the queue, `dispenser - indicator + 1`. */
  readonly size: number;
  /** When the status was read, ms since the epoch (TTLs count from here). */
  readonly at: number;
  /** The live user whose turn it is (shared: the first holder), if any. */
  readonly holder: UserView | null;
  /** A shared resource's other holders, in ticket order. */
  readonly alsoHolding: readonly UserView[];
  /** A shared resource's capacity and places left. */
  readonly places: PlacesStatus | null;
  /** Live waiters in ticket order. */
  readonly waiters: readonly UserView[];
  /** The number whose turn it is, if its user looks dead. */
  readonly deadHead: DeadHead | null;
  /** When the turn last moved, ms since the epoch. */
  readonly movedAt: number;
  /** Whether `movedAt` is only a lower bound. */
  readonly movedAtLeast: boolean;
  /** The verdict, by the rule the page states. */
  readonly health: Health;
  /** The verdict's reason, in words. */
  readonly reason: string;
}

/** The events and status of one resource, and what history learns from them. */
export class Track {
  readonly resource: string;
  /** The latest status; `undefined` while the resource has no queue. */
  status: ResourceStatus | undefined;
  /** When anything was last heard of it (event or status). */
  lastSeen: number;
  readonly #firstSeen: number;
  readonly #history: History;
  /** When each number joined, from `assigned` events. */
  readonly #joined = new Map<number, number>();
  /** When each number got the turn, from `started` events. */
  readonly #began = new Map<number, number>();
  /** When each number was first seen in a status without an event. */
  readonly #seen = new Map<number, number>();
  /** Highest TTL seen per number: a live user renews well before half of it. */
  readonly #maxTtl = new Map<number, number>();
  #movedAt: number | undefined;
  /** The holder as the events tell it, until its turn ends. */
  #holder: number | undefined;
  /** When the last turn ended, if users were waiting then (for the gap). */
  #endedWithWaiters: number | undefined;

  constructor(resource: string, now: number, history: History) {
    this.resource = resource;
    this.#firstSeen = now;
    this.lastSeen = now;
    this.#history = history;
  }

  /** Learns from one event of this resource. */
  observe(event: TurnEvent): void {
    this.lastSeen = event.time;
    const { number: n, time } = event;
    if (event.kind === "reset") return this.#history.count("resets", time);
    if (n === undefined) return;
    switch (event.kind) {
      case "assigned":
        this.#forgetFrom(n);
        this.#joined.set(n, time);
        return;
      case "started":
        return this.#started(n, time);
      case "granted":
        return this.#granted(n, time);
      case "completed":
      case "crashed":
        return this.#ended(n, time, event.kind === "crashed");
      case "left":
        this.#history.count("gaveUp", time);
        return void this.#joined.delete(n);
      case "lapsed":
        this.#history.count("lapses", time);
        return void this.#joined.delete(n);
      case "bumps":
        return this.#history.count("bumps", time);
    }
  }

  /**
   * A number is drawn once per queue, so what is known of `n` and later
   * numbers belongs to a queue that emptied (numbers start again at 1) or to
   * a newest number that was given back.
   */
  #forgetFrom(n: number): void {
    for (const map of [this.#joined, this.#began, this.#seen, this.#maxTtl]) {
      for (const m of map.keys()) if (m >= n) map.delete(m);
    }
    if (this.#holder !== undefined && this.#holder >= n) {
      this.#holder = undefined;
    }
  }

  #started(n: number, time: number): void {
    if (this.#began.has(n)) return;
    this.#granted(n, time);
    this.#began.set(n, time);
    this.#holder = n;
    this.#history.count("grants", time);
    const joined = this.#joined.get(n);
    if (joined !== undefined) this.#history.time("wait", time - joined, time);
    if (this.#endedWithWaiters !== undefined) {
      this.#history.time("gap", time - this.#endedWithWaiters, time);
      this.#endedWithWaiters = undefined;
    }
  }

  /** The turn moved to `n`; a holder before it that never ended is gone. */
  #granted(n: number, time: number): void {
    this.#movedAt = time;
    const holder = this.#holder;
    if (holder === undefined || holder >= n) return;
    // Skipped without a word: its presence ran out (killed, or cut off).
    this.#history.count("lapses", time);
    this.#holder = undefined;
    this.#endedWithWaiters = time;
  }

  #ended(n: number, time: number, crashed: boolean): void {
    if (crashed) this.#history.count("crashes", time);
    const began = this.#began.get(n);
    if (began !== undefined) this.#history.time("hold", time - began, time);
    if (this.#holder === n) this.#holder = undefined;
    const waiting = [...this.#joined.keys()].some((m) => m > n) ||
      (this.status?.users.some((user) => user.number > n) ?? false);
    this.#endedWithWaiters = waiting ? time : undefined;
  }

  /** Takes a fresh status (or `undefined`: the queue is gone) read at `now`. */
  update(status: ResourceStatus | undefined, now: number): void {
    this.status = status;
    this.lastSeen = now;
    if (status === undefined) return;
    const live = new Set(status.users.map((user) => user.number));
    // Numbers behind the indicator, or no longer live, are done with: forget
    // them so a long-running dashboard keeps only the queues' current users.
    for (const map of [this.#joined, this.#began, this.#seen, this.#maxTtl]) {
      for (const n of map.keys()) {
        if (n < status.indicator || (!live.has(n) && map !== this.#joined)) {
          map.delete(n);
        }
      }
    }
    for (const user of status.users) {
      if (!this.#seen.has(user.number)) this.#seen.set(user.number, now);
      const max = this.#maxTtl.get(user.number) ?? -1;
      if (user.ttl > max) this.#maxTtl.set(user.number, user.ttl);
    }
  }

  /** The page's view of it, judged by `rule` at `now`; none without a queue. */
  view(rule: HealthRule, now: number): ResourceView | undefined {
    const status = this.status;
    if (status === undefined) return undefined;
    const { indicator, users } = status;
    const holds = (user: UserStatus) =>
      user.holding ?? user.number === indicator;
    const [holderStatus, ...others] = users.filter(holds);
    const holder = holderStatus && this.#user(holderStatus, this.#began);
    const alsoHolding = others.map((user) => this.#user(user, this.#began));
    const waiters = users.filter((user) => !holds(user))
      .map((user) => this.#user(user, this.#joined));
    const moved = holder
      ? { time: holder.since, atLeast: holder.atLeast }
      : this.#movedAt !== undefined
      ? { time: this.#movedAt, atLeast: false }
      : { time: this.#firstSeen, atLeast: true };
    const deadHead = this.#deadHead(status, holderStatus, waiters.length);
    const { health, reason } = judge({
      waiting: waiters.length,
      unmovedFor: now - moved.time,
      deadHead: deadHead !== null,
    }, rule);
    return {
      resource: this.resource,
      indicator,
      dispenser: status.dispenser,
      size: status.size,
      at: this.lastSeen,
      holder: holder ?? null,
      alsoHolding,
      places: status.places ?? null,
      waiters,
      deadHead,
      movedAt: moved.time,
      movedAtLeast: moved.atLeast,
      health,
      reason,
    };
  }

  #user(user: UserStatus, events: Map<number, number>): UserView {
    const known = events.get(user.number);
    return {
      number: user.number,
      label: user.label,
      since: known ?? this.#seen.get(user.number) ?? this.#firstSeen,
      atLeast: known === undefined,
      ttl: user.ttl,
    };
  }

  #deadHead(
    status: ResourceStatus,
    holder: UserStatus | undefined,
    waiting: number,
  ): DeadHead | null {
    // A shared queue's first live user stands for its indicator: not dead.
    if (status.size <= 0 || status.places) return null;
    const number = status.indicator;
    if (holder === undefined) {
      return { number, cause: "gone", skipIn: waiting > 0 ? 0 : null };
    }
    // A live user renews every third of its TTL (turn 1.0: a second before
    // it runs out), so a TTL below half the highest seen is not being renewed.
    const max = this.#maxTtl.get(number) ?? -1;
    if (holder.ttl < 0 || holder.ttl >= max / 2) return null;
    return {
      number,
      cause: "unrenewed",
      skipIn: waiting > 0 ? holder.ttl : null,
    };
  }
}
