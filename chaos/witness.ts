/**
 * The witness of mutual exclusion, outside the faulted Redis: a directory
 * per resource, in which each holder keeps a file named after its turn.
 * A newcomer removes the files it finds (their holders may be dead), so a
 * holder that finds its own file gone while its signal says it holds has
 * seen someone else enter during its turn.
 *
 * @module
 */

/** What the witness needs of a held turn: whether it still holds. */
export interface Holding {
  readonly released: boolean;
  readonly signal: AbortSignal;
}

/**
 * Whether `lock` still holds: not released and its lease not lost. A turn
 * that a failed lockAll gave back was released, not lost, so its signal
 * stays quiet; its holder's entry, still being made, must not remove the
 * next holder's (seed 4 under load: a false mutual-exclusion).
 *
 * @example
 * ```ts
 * import { holds } from "./witness.ts";
 * console.log(holds({ released: true, signal: new AbortController().signal }));
 * ```
 */
export function holds(lock: Holding): boolean {
  return !lock.released && !lock.signal.aborted;
}

/**
 * One holder's entries in the witness.
 *
 * @example
 * ```ts
 * import { Witness } from "./witness.ts";
 * const dir = await Deno.makeTempDir();
 * const witness = new Witness(dir, "w0.0.1");
 * const displaced = await witness.enter("r0", () => true);
 * await witness.leave("r0");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Witness {
  readonly #dir: string;
  readonly #token: string;

  /** The entries of the turn named `token` under `dir`. */
  constructor(dir: string, token: string) {
    this.#dir = dir;
    this.#token = token;
  }

  /**
   * Enters `resource`; returns the entries of others it removed. Like any
   * code that acts on a resource, it asks whether it `holds` right before
   * each removal: a holder stopped while entering may run again after its
   * lease ran out and the next holder entered.
   */
  async enter(resource: string, holds: () => boolean): Promise<string[]> {
    const dir = `${this.#dir}/${resource}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/${this.#token}`, "");
    const displaced: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name === this.#token) continue;
      if (!holds()) break;
      displaced.push(entry.name);
      await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
    }
    return displaced;
  }

  /** Whether this holder's entry in `resource` is still there. */
  async inside(resource: string): Promise<boolean> {
    try {
      await Deno.stat(`${this.#dir}/${resource}/${this.#token}`);
      return true;
    } catch {
      return false;
    }
  }

  /** Removes this holder's entry, and only its own. */
  async leave(resource: string): Promise<void> {
    await Deno.remove(`${this.#dir}/${resource}/${this.#token}`)
      .catch(() => {});
  }
}
