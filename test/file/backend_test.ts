import assert from "node:assert/strict";
import { LeaseLostError, Locker } from "../../mod.ts";
import {
  presencePath,
  resourceDirName,
  resourceOfDirName,
  resourcePaths,
} from "../../src/file/layout.ts";
import { inboxEvents, publish } from "../../src/file/events.ts";
import { DirLock, lockDir } from "../../src/file/dir_lock.ts";
import { FILE_POLL_MS } from "../../src/backend.ts";
import { draw, poll, release } from "../../src/file/steps.ts";
import {
  filesUnder,
  fixture,
  followUntil,
  leaseLost,
  spawnHolder,
  untilQueued,
  within,
} from "../support/helpers.ts";

const TRICKY = [
  "printer",
  "Printer",
  "PRINTER",
  "..",
  ".",
  "../escape",
  "/etc/passwd",
  "a/b",
  "a%2Fb",
  ".follow",
  "state",
  "1",
  "~",
  "é",
  "e\u0301",
  "😀",
  "x".repeat(1024),
  "x".repeat(1023) + "y",
  "é".repeat(1024),
];

Deno.test("resource names map to safe, distinct directory names", () => {
  const names = TRICKY.map(resourceDirName);
  // Distinct even where the file system ignores case.
  assert.equal(new Set(names.map((n) => n.toLowerCase())).size, TRICKY.length);
  for (const [index, name] of names.entries()) {
    assert.ok(!name.includes("/") && !name.startsWith("."), name);
    assert.ok(new TextEncoder().encode(name).length <= 255, name);
    const back = resourceOfDirName(name);
    if (back !== undefined) assert.equal(back, TRICKY[index]);
    else assert.match(name, /~[0-9a-f]{64}$/);
  }
});

async function withRoot(
  body: (root: string, locker: (pollMs?: number) => Locker) => Promise<void>,
): Promise<void> {
  const parent = await Deno.makeTempDir({ prefix: "turn-files-" });
  const root = `${parent}/root`;
  const lockers: Locker[] = [];
  try {
    await body(root, (pollMs) => {
      // A Locker's poll period is a test seam (FILE_POLL_MS), not an option.
      const options = { url: `file://${root}`, [FILE_POLL_MS]: pollMs };
      const locker = new Locker(options);
      lockers.push(locker);
      return locker;
    });
    await Promise.all(lockers.map((l) => l.close()));
    // Nothing escaped the root, and nothing is left in it.
    assert.deepEqual(await filesUnder(parent), ["root"]);
  } finally {
    await Promise.allSettled(lockers.map((l) => l.close()));
    await Deno.remove(parent, { recursive: true });
  }
}

Deno.test("tricky names stay inside the root, apart, and come back in status", () =>
  withRoot(async (_root, locker) => {
    const one = locker();
    const locks = await Promise.all(TRICKY.map((name) => one.lock(name)));
    const status = await one.status();
    assert.deepEqual(status.map((s) => s.resource), [...TRICKY].sort());
    for (const s of status) assert.equal(s.users.length, 1);
    await Promise.all(locks.map((l) => l.release()));
    assert.deepEqual(await one.status(), []);
  }));

Deno.test("a damaged state file and a half-written file are recovered", () =>
  withRoot(async (root, locker) => {
    const one = locker();
    const holder = await one.lock("r", { label: "holder" });
    const waiting = one.lock("r", { label: "waiter" });
    await untilQueued(one, "r", 2);
    const paths = resourcePaths(root, "r");
    // As if a crash had cut a write short (without write-then-rename).
    await Deno.writeTextFile(paths.state, '{"resource":"r","disp');
    await Deno.writeTextFile(`${paths.dir}/state.tmp-crashed`, "{");
    const [status] = await one.status(["r"]);
    assert.deepEqual(
      [status.indicator, status.dispenser, status.users.map((u) => u.label)],
      [1, 2, ["holder", "waiter"]],
    );
    await holder.release();
    const lock = await within(waiting, 5000, "waiter after recovery");
    assert.equal(lock.number, 2);
    await lock.release();
  }));

Deno.test("a presence file left by a dead process is skipped and removed", () =>
  withRoot(async (root, locker) => {
    const paths = resourcePaths(root, "r");
    await Deno.mkdir(paths.dir, { recursive: true });
    // Number 1 was drawn by a process that is gone: its file is unlocked.
    await Deno.writeTextFile(`${paths.dir}/1`, "ghost");
    await Deno.writeTextFile(
      paths.state,
      JSON.stringify({ resource: "r", dispenser: 1, indicator: 1 }),
    );
    const lock = await within(locker().lock("r"), 5000, "past the ghost");
    // Skipping the ghost left the queue idle, so numbering started again.
    assert.equal(lock.number, 1);
    assert.equal(await Deno.readTextFile(`${paths.dir}/1`), lock.label);
    await lock.release();
  }));

Deno.test("a user whose number was drawn again under its label never takes that place", async () => {
  // Identity is the presence file's inode, which its owner keeps open, so
  // the inode cannot be reused while the owner lives, whatever the label.
  const root = await Deno.makeTempDir({ prefix: "turn-files-" });
  try {
    const paths = resourcePaths(root, "r");
    const first = await draw(paths, "first", false);
    const skipped = await draw(paths, "same", false);
    assert.equal(skipped?.n, 2);
    // Its presence file goes (an operator, a cleaner): it is skipped, the
    // queue empties and numbering starts again.
    await Deno.remove(presencePath(paths, 2));
    await release(paths, 1, "first", "completed", first!.presence);
    const holder = await draw(paths, "holder", false);
    const twin = await draw(paths, "same", false);
    assert.deepEqual([holder?.n, twin?.n], [1, 2]);
    const looked = await poll(paths, 2, skipped!.presence);
    assert.deepEqual(looked, { verdict: "lapsed" });
    // Its leaving touches nothing of the twin's.
    const left = await release(paths, 2, "same", "left", skipped!.presence);
    assert.equal(left.holder, false);
    assert.equal(await Deno.readTextFile(presencePath(paths, 2)), "same");
    assert.ok(twin!.presence.isMine());
    await release(paths, 1, "holder", "completed", holder!.presence);
    // The third grant of r: first, holder, and now the twin.
    assert.deepEqual(await poll(paths, 2, twin!.presence), {
      verdict: "granted",
      fence: 3n,
    });
    await release(paths, 2, "same", "completed", twin!.presence);
    assert.deepEqual(await filesUnder(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a stopped holder keeps its place: beside it, capacity 2 admits one more at a time", () =>
  withRoot(async (root, locker) => {
    const options = { capacity: 2 };
    // A stopped process still holds the lock on its presence file.
    await using h = spawnHolder(`file://${root}`, "pool", 60_000, "h", options);
    assert.equal(await within(h.held, 30_000, "h holds"), 1);
    h.signal("SIGSTOP");
    const one = locker();
    const b = await one.lock("pool", { ...options, label: "b" });
    const c = one.lock("pool", { ...options, label: "c" });
    await untilQueued(one, "pool", 3);
    // b leaves and queues again at once: the place it freed is c's.
    await b.release();
    const again = one.lock("pool", { ...options, label: "b again" });
    const held = await within(c, 10_000, "c after b");
    let againHeld = false;
    again.then(() => againHeld = true, () => {});
    await untilQueued(one, "pool", 3);
    const [status] = await one.status(["pool"]);
    assert.deepEqual(
      status.users.map((u) => [u.number, u.label, u.holding]),
      [[1, "h", true], [3, "c", true], [4, "b again", false]],
    );
    assert.equal(againHeld, false);
    await held.release();
    const lock = await within(again, 10_000, "b again after c");
    // Killed (SIGKILL ends a stopped process too), it is skipped on leaving.
    await h.kill();
    await lock.release();
  }));

Deno.test("a holder whose queue directory was removed loses its lease", () =>
  withRoot(async (root, locker) => {
    const lock = await locker().lock("r");
    await Deno.remove(resourcePaths(root, "r").dir, { recursive: true });
    const reason = await leaseLost(lock);
    assert.ok(reason instanceof LeaseLostError);
    await lock.release();
  }));

Deno.test("a removed state file is rebuilt, and the holder keeps its lease", () =>
  withRoot(async (root, locker) => {
    const one = locker();
    const holder = await one.lock("r", { label: "holder" });
    const waiting = one.lock("r", { label: "waiter" });
    await untilQueued(one, "r", 2);
    const paths = resourcePaths(root, "r");
    await Deno.remove(paths.state);
    // Several fallback polls (every 500 ms) and the removal's own event.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(holder.signal.aborted, false, String(holder.signal.reason));
    const [status] = await one.status(["r"]);
    assert.deepEqual(
      [status.indicator, status.dispenser, status.users.map((u) => u.label)],
      [1, 2, ["holder", "waiter"]],
    );
    await holder.release();
    const lock = await within(waiting, 5000, "waiter after the rebuild");
    assert.equal(lock.number, 2);
    await lock.release();
  }));

Deno.test("concurrent draws from separate processes get unique, contiguous numbers", () =>
  withRoot(async (root, locker) => {
    const one = locker();
    const holder = await one.lock("r", { label: "holder" });
    const [processes, each] = [6, 30];
    const children = Array.from(
      { length: processes },
      (_, i) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            fixture("drawer.ts"),
            `file://${root}`,
            "r",
            String(each),
            `p${i}`,
          ],
          stdin: "piped",
          stdout: "piped",
          stderr: "inherit",
        }).spawn(),
    );
    const lines = children.map((child) =>
      child.stdout.pipeThrough(new TextDecoderStream()).getReader()
    );
    const writers = children.map((child) => child.stdin.getWriter());
    try {
      const said = (word: string) =>
        within(
          Promise.all(lines.map(async (reader) => {
            const { value } = await reader.read();
            assert.equal(value?.trim(), word);
          })),
          60_000,
          `every process ${word}`,
        );
      await said("ready");
      const paths = resourcePaths(root, "r");
      const before = await Deno.readTextFile(paths.state);
      {
        // While a step holds the queue's lock, no draw may touch the queue;
        // then every process's draws race for it at once.
        using _step = await lockDir(root, paths.dir, false) as DirLock;
        const go = new TextEncoder().encode("go\n");
        await Promise.all(writers.map((writer) => writer.write(go)));
        await said("started");
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(await Deno.readTextFile(paths.state), before);
        assert.deepEqual(
          (await filesUnder(paths.dir)).filter((f) => /^\d+$/.test(f)),
          ["1"],
        );
      }
      await said("drawn");
      const [queue] = await one.status(["r"]);
      const total = 1 + processes * each;
      // No step lost another's write: each number once, none skipped.
      assert.deepEqual(
        queue.users.map((u) => u.number).sort((a, b) => a - b),
        Array.from({ length: total }, (_, i) => i + 1),
      );
      assert.equal(queue.dispenser, total);
      assert.equal(new Set(queue.users.map((u) => u.label)).size, total);
    } finally {
      await Promise.all(writers.map((writer) => writer.close()));
      await within(
        Promise.all(children.map((child) => child.status)),
        30_000,
        "every process gone",
      );
      await Promise.all(lines.map((reader) => reader.cancel()));
    }
    await holder.release();
  }));

Deno.test("a file: url is checked and never mixed with Redis options", () => {
  assert.throws(
    () => new Locker({ url: "file:///tmp/x", host: "cache" }),
    /a file: url cannot be combined with .*: got host/,
  );
  assert.throws(
    () => new Locker({ url: "file://elsewhere/x" }),
    /url must name a directory on this host \(file:\/\/\/path\): got "file:\/\/elsewhere\/x"/,
  );
});

Deno.test("handoffs are woken by file-system events, not the fallback poll", () =>
  withRoot(async (_root, locker) => {
    const [a, b] = [locker(), locker()];
    const rounds = 20;
    const started = performance.now();
    for (let round = 0; round < rounds; round++) {
      // The queue goes idle each round: its directory is removed and made
      // again, and each Locker stops and starts watching it.
      const holder = await a.lock("r");
      const waiting = b.lock("r");
      await untilQueued(a, "r", 2);
      await holder.release();
      await (await within(waiting, 5000, "handoff")).release();
    }
    const perRound = (performance.now() - started) / rounds;
    console.log(`handoff round with queue setup: ${perRound.toFixed(1)} ms`);
    // A lost wakeup costs a whole poll period (FALLBACK_POLL_MS, 500 ms).
    assert.ok(perRound < 250, `${perRound} ms per round`);
  }));

// A poll period no test waits out: a Locker given it is woken by events and
// its own looks again only.
const NO_POLL_MS = 60 * 60 * 1000;

Deno.test("a waiter whose look finds a step under way looks again, though that step writes nothing", () =>
  withRoot(async (root, locker) => {
    const one = locker(NO_POLL_MS);
    // Holder and waiter share a Locker, which checks both on the same event.
    const holder = await one.lock("r", { label: "holder" });
    const waiting = one.lock("r", { label: "waiter" });
    await untilQueued(one, "r", 2);
    // The Locker's watch starts on a zero-delay timer (src/file/watch.ts) set
    // when the holder got its turn; this one runs after it. An event missed
    // before the start is made up for by a look that waits for the lock.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const paths = resourcePaths(root, "r");
    const step = await lockDir(paths.root, paths.dir, false);
    assert.ok(step instanceof DirLock);
    try {
      // The holder dies while a step that writes nothing (a status read)
      // holds the directory lock.
      await Deno.remove(presencePath(paths, holder.number));
      // The removal's event has the Locker check its two users in one go:
      // the holder loses its lease, and the waiter, finding the head gone,
      // tries the directory lock and finds it busy. So once the lease is
      // lost, the waiter has made that try.
      await leaseLost(holder);
    } finally {
      step[Symbol.dispose]();
    }
    // No event comes now, and no poll: only a look again grants the waiter.
    const lock = await within(waiting, 10_000, "the waiter's turn");
    assert.equal(lock.number, 2);
    await lock.release();
    await holder.release();
  }));

Deno.test("a waiter hears of its turn through users ahead that leave or are dead, without a poll", () =>
  withRoot(async (root, locker) => {
    const [a, b, c] = [0, 1, 2].map(() => locker(NO_POLL_MS));
    const holder = await a.lock("r", { label: "holder" });
    const leaving = new AbortController();
    const left = b.lock("r", { label: "leaves", signal: leaving.signal });
    left.catch(() => {});
    await untilQueued(a, "r", 2);
    // Number 3 was drawn by a process that died: its file is unlocked.
    const paths = resourcePaths(root, "r");
    const step = await lockDir(paths.root, paths.dir, false);
    assert.ok(step instanceof DirLock);
    try {
      await Deno.writeTextFile(presencePath(paths, 3), "ghost");
      await Deno.writeTextFile(
        paths.state,
        JSON.stringify({ resource: "r", dispenser: 3, indicator: 1 }),
      );
    } finally {
      step[Symbol.dispose]();
    }
    // Number 4 waits behind the nearest live user, 2, past the dead 3.
    const waiting = c.lock("r", { label: "last" });
    await untilQueued(a, "r", 3);
    // 2 leaves: 4 looks past it, to the holder.
    leaving.abort();
    await assert.rejects(left);
    await untilQueued(a, "r", 2);
    // The last events of 2's file come a little after its removal: past them,
    // only a watch of the holder can bring 4 its turn.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await holder.release();
    const lock = await within(waiting, 10_000, "the last waiter's turn");
    assert.equal(lock.number, 4);
    await lock.release();
  }));

Deno.test("a waiter whose turn the state shows takes it while a step still holds the lock, if nobody follows", () =>
  withRoot(async (root, locker) => {
    const [a, b] = [0, 1].map(() => locker(NO_POLL_MS));
    const holder = await a.lock("r", { label: "holder" });
    const waiting = b.lock("r", { label: "waiter" });
    await untilQueued(a, "r", 2);
    const paths = resourcePaths(root, "r");
    const step = await lockDir(paths.root, paths.dir, false);
    assert.ok(step instanceof DirLock);
    try {
      // What a release does under the lock: the state first (whole, by
      // rename), then the holder's presence goes, which wakes the user behind.
      await Deno.writeTextFile(
        `${paths.state}.new`,
        JSON.stringify({ resource: "r", dispenser: 2, indicator: 2 }),
      );
      await Deno.rename(`${paths.state}.new`, paths.state);
      await Deno.remove(presencePath(paths, holder.number));
      const lock = await within(waiting, 5000, "the turn, lock still held");
      assert.equal(lock.number, 2);
      await leaseLost(holder);
    } finally {
      step[Symbol.dispose]();
    }
    await (await waiting).release();
    await holder.release();
  }));

Deno.test("a handoff says granted, then started, to followers", () =>
  withRoot(async (_root, locker) => {
    const [a, b, c] = [0, 1, 2].map(() => locker(NO_POLL_MS));
    const { events } = await followUntil(
      c,
      ["r"],
      (e) => e.kind === "started" && e.number === 2,
    );
    const holder = await a.lock("r", { label: "holder" });
    const waiting = b.lock("r", { label: "waiter" });
    await untilQueued(a, "r", 2);
    await holder.release();
    const next = await within(waiting, 5000, "the waiter's turn");
    await next.release();
    const messages = (await within(events, 5000, "started")).map((e) =>
      e.message
    );
    assert.deepEqual(messages.slice(-3), [
      'r: 1 completed by "holder"',
      "r: 2 granted",
      `r: 2 started (fence ${next.fence})`,
    ]);
  }));

Deno.test("a follower's inbox is replaced once it grows, and no message is lost or repeated", async () => {
  const root = await Deno.makeTempDir({ prefix: "turn-files-" });
  try {
    const seen: string[] = [];
    const all = Promise.withResolvers<void>();
    const total = 2000;
    const expected = [
      ...Array.from({ length: total / 2 }, (_, i) => `r message ${2 * i + 1}`),
      ...Array.from({ length: total }, (_, k) => `r again ${k}`),
    ];
    const source = inboxEvents(root, ["r"], 4096)((resource, message) => {
      seen.push(`${resource} ${message}`);
      if (seen.length === expected.length) all.resolve();
    });
    await source.ready;
    for (let k = 0; k < total; k++) {
      publish(root, k % 2 ? "r" : "other", [`message ${k}`]);
      // Let the follower read (and replace its inbox) now and then.
      if (k % 100 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    for (let k = 0; k < total; k++) publish(root, "r", [`again ${k}`]);
    await within(all.promise, 10_000, "every message");
    assert.deepEqual(seen, expected);
    const [inbox] = await filesUnder(`${root}/.follow`);
    const { size } = await Deno.stat(`${root}/.follow/${inbox}`);
    // Without replacement it would hold every line ever published.
    const published = Array.from(
      { length: total },
      (_, k) =>
        JSON.stringify([k % 2 ? "r" : "other", `message ${k}`]).length +
        JSON.stringify(["r", `again ${k}`]).length + 2,
    ).reduce((a, b) => a + b);
    assert.ok(size < published, `${size} of ${published} bytes kept`);
    source.stop();
    assert.deepEqual(await filesUnder(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
