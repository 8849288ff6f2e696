// whileHeld, the one "run, then release (as crashed on throw)" behind
// withLock, @Turn and withTurn: which error wins when the work, the lease and
// the release each can fail. The turn here is a plain object with the shape
// of a Lock, so that a release can be made to fail on purpose; the real
// Locker paths are in locker_test.ts, outage_test.ts and the adapter tests.
import { deepEqual, equal, rejects } from "node:assert/strict";
import { CommandError, LeaseLostError, type ReleaseOutcome } from "../mod.ts";
import { type Held, whileHeld } from "./lock_set.ts";

class HeldTurn implements Held {
  readonly outcomes: (ReleaseOutcome | undefined)[] = [];
  readonly #lease = new AbortController();
  readonly #releaseError: Error | undefined;

  constructor(releaseError?: Error) {
    this.#releaseError = releaseError;
  }

  get signal(): AbortSignal {
    return this.#lease.signal;
  }

  lose(): LeaseLostError {
    const error = new LeaseLostError("r", 1, "its presence key expired");
    this.#lease.abort(error);
    return error;
  }

  release(outcome?: ReleaseOutcome): Promise<void> {
    this.outcomes.push(outcome);
    return this.#releaseError
      ? Promise.reject(this.#releaseError)
      : Promise.resolve();
  }
}

const refused = new CommandError("127.0.0.1:6379", "OOM command not allowed");

Deno.test("returns fn's result after releasing the turn once", async () => {
  const turn = new HeldTurn();
  equal(await whileHeld(turn, () => 42), 42);
  deepEqual(turn.outcomes, [undefined]);
});

Deno.test("fn's error wins over a failed release, which is announced as crashed", async () => {
  const failure = new Error("the work failed");
  const turn = new HeldTurn(refused);
  await rejects(whileHeld(turn, () => Promise.reject(failure)), failure);
  deepEqual(turn.outcomes, ["crashed"]);
  const thrown = new HeldTurn();
  await rejects(
    whileHeld(thrown, () => {
      throw failure;
    }),
    failure,
  );
  deepEqual(thrown.outcomes, ["crashed"]);
});

Deno.test("a lease lost while fn ran rejects with the LeaseLostError, whatever the release meets", async () => {
  for (const releaseError of [undefined, refused]) {
    const turn = new HeldTurn(releaseError);
    let lost: LeaseLostError | undefined;
    const run = whileHeld(turn, () => {
      lost = turn.lose();
      return "done, but not alone";
    });
    await rejects(run, (error) => error === lost);
    deepEqual(turn.outcomes, [undefined]);
  }
});

Deno.test("a failed release after fn succeeded rejects with the release's error", async () => {
  await rejects(whileHeld(new HeldTurn(refused), () => "done"), refused);
});

Deno.test("with onLate, a lost lease or failed release after success is reported and the result returned", async () => {
  const late: unknown[] = [];
  const onLate = (error: unknown) => late.push(error);
  equal(await whileHeld(new HeldTurn(refused), () => "a", { onLate }), "a");
  const turn = new HeldTurn();
  const lost = turn.lose();
  equal(await whileHeld(turn, () => "b", { onLate }), "b");
  equal(await whileHeld(new HeldTurn(), () => "c", { onLate }), "c");
  deepEqual(late, [refused, lost]);
});
