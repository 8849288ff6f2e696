/**
 * A seeded pseudo-random generator, so one seed replays one schedule of
 * operations and faults. Each worker incarnation and the fault schedule draw
 * from their own stream, so one stream's draws never shift another's.
 *
 * @module
 */

/**
 * Random draws from a 32-bit seed (mulberry32).
 *
 * @example
 * ```ts
 * import { Random } from "./random.ts";
 * const random = new Random(7);
 * const delay = random.int(10, 100);
 * ```
 */
export class Random {
  #state: number;

  /** Starts the stream of `seed`. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The stream for `name` under `seed`: the same pair, the same draws. */
  static stream(seed: number, name: string): Random {
    let hash = seed >>> 0 ^ 0x9e3779b9;
    for (let i = 0; i < name.length; i++) {
      hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
    }
    return new Random(hash);
  }

  /** A float in [0, 1). */
  next(): number {
    let t = this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `items`, each as likely. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** One of the keys of `weights`, each as likely as its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let left = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, weight] of entries) {
      if ((left -= weight) < 0) return key;
    }
    return entries[entries.length - 1][0];
  }
}
