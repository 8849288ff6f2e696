/**
 * Summary statistics for benchmark figures.
 *
 * @module
 */

/** The value below which `q` (0..1) of the sorted values fall (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** The median. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Jain's fairness index: 1 when all shares are equal, 1/n when one takes all. */
export function jain(shares: readonly number[]): number {
  const sum = shares.reduce((a, b) => a + b, 0);
  const squares = shares.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? NaN : (sum * sum) / (shares.length * squares);
}

/** The median of each field over rounds of the same shape. */
export function medianOfRounds<T extends Record<string, number>>(
  rounds: readonly T[],
): T {
  const out: Record<string, number> = {};
  for (const key of Object.keys(rounds[0] ?? {})) {
    out[key] = median(rounds.map((round) => round[key]));
  }
  return out as T;
}

/**
 * Runs `measure` for every name in every round, names interleaved within a
 * round so that noise on a shared machine spreads over all of them. Returns
 * the median of each figure, except `sum` figures (counts of events), which
 * are totals over the rounds.
 */
export async function acrossRounds<T extends Record<string, number>>(
  rounds: number,
  names: readonly string[],
  measure: (name: string, round: number) => Promise<T>,
  sum: readonly string[] = [],
): Promise<Record<string, T>> {
  const seen = new Map<string, T[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) seen.get(name)!.push(await measure(name, round));
  }
  const out: Record<string, T> = {};
  for (const [name, results] of seen) {
    const combined: Record<string, number> = medianOfRounds(results);
    for (const key of sum) {
      combined[key] = results.reduce((total, r) => total + r[key], 0);
    }
    out[name] = combined as T;
  }
  return out;
}
