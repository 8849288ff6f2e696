/**
 * What the dashboard has seen happen since it started: counts and times per
 * minute for the last hour (for the page's charts and percentiles), and
 * running totals (for `/metrics`).
 *
 * History comes only from the events the dashboard sees through
 * `locker.follow()` and the queue depths it reads with `locker.status()`,
 * kept in memory: it starts empty when the dashboard starts and keeps the
 * last {@linkcode HISTORY_MINUTES} minutes.
 *
 * @module
 */

/** How many minutes of history the page shows. */
export const HISTORY_MINUTES = 60;
/** Samples kept per kind and minute; a busier minute keeps its first ones. */
const SAMPLES_PER_MINUTE = 2_000;
const MINUTE_MS = 60_000;

/**
 * Things counted.
 *
 * @example
 * ```ts
 * import type { CountKind } from "./history.ts";
 * const kind: CountKind = "grants";
 * ```
 */
export type CountKind =
  | "grants"
  | "gaveUp"
  | "crashes"
  | "lapses"
  | "resets"
  | "bumps";

/** Every {@linkcode CountKind}. */
export const COUNT_KINDS: readonly CountKind[] = [
  "grants",
  "gaveUp",
  "crashes",
  "lapses",
  "resets",
  "bumps",
];

/**
 * Durations timed, in milliseconds.
 *
 * @example
 * ```ts
 * import type { TimeKind } from "./history.ts";
 * const kind: TimeKind = "wait";
 * ```
 */
export type TimeKind = "wait" | "hold" | "gap";

/** Every {@linkcode TimeKind}. */
export const TIME_KINDS: readonly TimeKind[] = ["wait", "hold", "gap"];

/** Upper bounds of the histogram buckets, in seconds. */
export const BUCKETS_SECONDS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
  900,
];

/** A running histogram, as Prometheus wants it. */
export interface HistogramTotals {
  /** Observations at or below each of {@linkcode BUCKETS_SECONDS}, cumulative. */
  readonly buckets: readonly number[];
  /** Sum of the observations, in seconds. */
  readonly sum: number;
  /** Number of observations. */
  readonly count: number;
}

/** Percentiles of one kind of duration, in milliseconds. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** One minute of history. */
export interface MinuteView {
  /** Start of the minute, in ms since the epoch. */
  readonly start: number;
  readonly counts: Readonly<Record<CountKind, number>>;
  /** Most users seen waiting at once, over all resources. */
  readonly depth: number;
  /** 95th percentile of the waits that ended in this minute, in ms. */
  readonly waitP95: number | null;
}

/** The history as the page gets it. */
export interface HistoryView {
  /** When the dashboard started watching (history goes back to here at most). */
  readonly since: number;
  /** The minutes kept, oldest first. */
  readonly minutes: readonly MinuteView[];
  /** Percentiles over the minutes kept. */
  readonly times: Readonly<Record<TimeKind, Percentiles>>;
  /** Sums over the minutes kept. */
  readonly counts: Readonly<Record<CountKind, number>>;
}

interface Minute {
  readonly start: number;
  readonly counts: Record<CountKind, number>;
  readonly samples: Record<TimeKind, number[]>;
  depth: number;
}

function zeroCounts(): Record<CountKind, number> {
  return Object.fromEntries(COUNT_KINDS.map((k) => [k, 0])) as Record<
    CountKind,
    number
  >;
}

function minuteOf(time: number): number {
  return Math.floor(time / MINUTE_MS) * MINUTE_MS;
}

function oldestKept(now: number): number {
  return minuteOf(now) - (HISTORY_MINUTES - 1) * MINUTE_MS;
}

class RunningHistogram {
  readonly buckets: number[] = BUCKETS_SECONDS.map(() => 0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = BUCKETS_SECONDS.length - 1; i >= 0; i--) {
      if (seconds > BUCKETS_SECONDS[i]) break;
      this.buckets[i]++;
    }
  }
}

/**
 * Nearest-rank percentile of sorted values.
 *
 * @example
 * ```ts
 * import { percentile } from "./history.ts";
 * console.log(percentile([1, 2, 3, 4], 50)); // 2
 * ```
 */
export function percentile(
  sorted: readonly number[],
  p: number,
): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function percentiles(values: number[]): Percentiles {
  const sorted = values.sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

/**
 * Counts and times by minute for the last hour, and running totals.
 *
 * @example
 * ```ts
 * import { History } from "./history.ts";
 * const history = new History(0);
 * history.count("grants", 1_000);
 * history.time("wait", 250, 1_000);
 * console.log(history.view(2_000).counts.grants); // 1
 * ```
 */
export class History {
  readonly #since: number;
  readonly #minutes: Minute[] = [];
  readonly #totals = zeroCounts();
  readonly #histograms: Record<TimeKind, RunningHistogram> = {
    wait: new RunningHistogram(),
    hold: new RunningHistogram(),
    gap: new RunningHistogram(),
  };

  /** Starts an empty history at `since` (ms since the epoch). */
  constructor(since: number) {
    this.#since = since;
  }

  /** Counts one `kind` at `time`. */
  count(kind: CountKind, time: number): void {
    this.#totals[kind]++;
    this.#minute(time).counts[kind]++;
  }

  /** Records a duration of `ms` that ended at `time`. */
  time(kind: TimeKind, ms: number, time: number): void {
    const duration = Math.max(0, ms);
    this.#histograms[kind].observe(duration / 1_000);
    const samples = this.#minute(time).samples[kind];
    if (samples.length < SAMPLES_PER_MINUTE) samples.push(duration);
  }

  /** Notes how many users wait, over all resources, at `time`. */
  depth(waiting: number, time: number): void {
    const minute = this.#minute(time);
    minute.depth = Math.max(minute.depth, waiting);
  }

  /** Running totals since the start. */
  totals(): Readonly<Record<CountKind, number>> {
    return { ...this.#totals };
  }

  /** A running histogram of `kind` since the start. */
  histogram(kind: TimeKind): HistogramTotals {
    const { buckets, sum, count } = this.#histograms[kind];
    return { buckets: [...buckets], sum, count };
  }

  /** The last hour as of `now`, a minute for each minute since the start. */
  view(now: number): HistoryView {
    this.#forget(now);
    const counts = zeroCounts();
    const all: Record<TimeKind, number[]> = { wait: [], hold: [], gap: [] };
    const kept = new Map(this.#minutes.map((minute) => [minute.start, minute]));
    const minutes: MinuteView[] = [];
    const first = Math.max(minuteOf(this.#since), oldestKept(now));
    for (let start = first; start <= now; start += MINUTE_MS) {
      const minute = kept.get(start);
      if (minute === undefined) {
        minutes.push({ start, counts: zeroCounts(), depth: 0, waitP95: null });
        continue;
      }
      for (const kind of COUNT_KINDS) counts[kind] += minute.counts[kind];
      for (const kind of TIME_KINDS) all[kind].push(...minute.samples[kind]);
      const waits = [...minute.samples.wait].sort((a, b) => a - b);
      minutes.push({
        start,
        counts: { ...minute.counts },
        depth: minute.depth,
        waitP95: percentile(waits, 95),
      });
    }
    return {
      since: this.#since,
      minutes,
      counts,
      times: {
        wait: percentiles(all.wait),
        hold: percentiles(all.hold),
        gap: percentiles(all.gap),
      },
    };
  }

  #minute(time: number): Minute {
    const start = minuteOf(time);
    const last = this.#minutes.at(-1);
    // Minutes are kept in order: a time from before the newest minute (a
    // wait that ended as the minute turned) counts in the newest one.
    if (last !== undefined && last.start >= start) return last;
    const minute: Minute = {
      start,
      counts: zeroCounts(),
      samples: { wait: [], hold: [], gap: [] },
      depth: 0,
    };
    this.#minutes.push(minute);
    this.#forget(time);
    return minute;
  }

  #forget(now: number): void {
    const oldest = oldestKept(now);
    while (this.#minutes.length > 0 && this.#minutes[0].start < oldest) {
      this.#minutes.shift();
    }
  }
}
