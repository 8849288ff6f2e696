/**
 * `turn run`'s command never outlives its turn, however `turn` dies. The
 * witness is the next user's command itself: when it starts, it looks for
 * the first command's processes in /proc and fails if any still runs.
 */

import { deepStrictEqual, match } from "node:assert/strict";
import { Redis } from "ioredis";
import { type Backend, BACKENDS, waitFor, within } from "../support/helpers.ts";
import {
  type CliDomain,
  cliDomain,
  type CliProcess,
  spawnCli,
} from "../support/cli.ts";

/** A lock domain, and a directory for the commands' witness files. */
interface Domain extends CliDomain {
  readonly work: string;
}

async function domain(backend: Backend): Promise<Domain> {
  const base = await cliDomain(backend);
  const work = await Deno.makeTempDir({ prefix: "turn-tether-" });
  return {
    ...base,
    work,
    async [Symbol.asyncDispose]() {
      await base[Symbol.asyncDispose]();
      await Deno.remove(work, { recursive: true });
    },
  };
}

function run(
  where: Domain,
  args: readonly string[],
  script: string,
): CliProcess {
  return where.spawn(["run", ...args, "printer", "--", "sh", "-c", script]);
}

/** Starts a child that runs until killed, writes both pids, says so. */
function firstCommand(work: string): string {
  return `sleep 300 >&- 2>&- & echo $! > ${work}/child; ` +
    `echo $$ > ${work}/leader; ` +
    "echo started; wait";
}

/**
 * Fails (exit 9) if a process whose pid is in one of `files` still runs (a
 * zombie has ended), then notes the time and says so.
 */
function witnessCommand(work: string): string {
  return `for f in ${work}/leader ${work}/child; do p=$(cat $f); ` +
    `if [ -e /proc/$p ] && ! grep -q ') Z' /proc/$p/stat 2>/dev/null; ` +
    `then echo "still running: $p"; exit 9; fi; done; ` +
    `date +%s%3N > ${work}/started; echo B ran`;
}

/**
 * Kills, when disposed, what a failing test left running, so that the
 * CLI processes disposed after it do not wait for their output to close.
 * Declare it after them.
 */
function reaper(work: string): AsyncDisposable {
  return {
    async [Symbol.asyncDispose]() {
      for (const name of ["leader", "child"]) {
        const pid = await pidIn(`${work}/${name}`).catch(() => 0);
        if (pid > 0 && await running(pid)) Deno.kill(pid, "SIGKILL");
      }
    },
  };
}

/** The result of `cli`, which must come within a generous bound. */
function ended(cli: CliProcess): ReturnType<CliProcess["result"]> {
  return within(cli.result(), 30_000, "the CLI's exit");
}

async function running(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function pidIn(path: string): Promise<number> {
  return Number((await Deno.readTextFile(path)).trim());
}

/** The pids of `parent`'s children whose command line includes `word`. */
async function childrenOf(parent: number, word: string): Promise<number[]> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (ppid === parent && cmdline.includes(word)) {
        found.push(Number(entry.name));
      }
    } catch {
      // It has exited meanwhile.
    }
  }
  return found;
}

for (const backend of BACKENDS) {
  Deno.test(`turn run (${backend}): after SIGKILL of turn, the next user's command starts only once the command and all it started have ended`, async () => {
    await using where = await domain(backend);
    // A short expire: on Redis the next user is granted once it lapses.
    await using first = run(
      where,
      ["--expire", "2s"],
      firstCommand(where.work),
    );
    await first.stdoutHas("started\n");
    await using second = run(where, [], witnessCommand(where.work));
    await using _reaper = reaper(where.work);
    await second.stderrHas("printer: waiting, 1 ahead\n");
    const killedAt = Date.now();
    first.kill("SIGKILL");
    deepStrictEqual(await ended(second), {
      code: 0,
      stdout: "B ran\n",
      stderr: "printer: waiting, 1 ahead\n",
    });
    const startedAt = await pidIn(`${where.work}/started`);
    console.log(
      `${backend}: SIGKILL of turn run -> next command started in ${
        startedAt - killedAt
      } ms`,
    );
    for (const name of ["leader", "child"]) {
      deepStrictEqual(
        await running(await pidIn(`${where.work}/${name}`)),
        false,
      );
    }
  });

  Deno.test(`turn run (${backend}): SIGHUP is forwarded to the command's whole group, which ends with it`, async () => {
    await using where = await domain(backend);
    await using first = run(where, [], firstCommand(where.work));
    await using _reaper = reaper(where.work);
    await first.stdoutHas("started\n");
    first.kill("SIGHUP");
    const { code, stdout } = await ended(first);
    deepStrictEqual({ code, stdout }, { code: 129, stdout: "started\n" });
    for (const name of ["leader", "child"]) {
      deepStrictEqual(
        await running(await pidIn(`${where.work}/${name}`)),
        false,
      );
    }
  });
}

Deno.test("turn run (file): the command's processes keep the turn even when turn and its watchdog are both killed", async () => {
  await using where = await domain("file");
  // The leader dies of its parent-death signal; its child, which nothing
  // kills, holds the inherited lock until it ends on its own.
  const script = `sleep 3 & echo $! > ${where.work}/child; ` +
    `echo $$ > ${where.work}/leader; echo started; wait`;
  await using first = run(where, [], script);
  await first.stdoutHas("started\n");
  await using second = run(where, [], witnessCommand(where.work));
  await using _reaper = reaper(where.work);
  await second.stderrHas("printer: waiting, 1 ahead\n");
  const watchdogs = await childrenOf(first.pid, "turn-watchdog");
  deepStrictEqual(watchdogs.length, 1);
  for (const pid of watchdogs) Deno.kill(pid, "SIGKILL");
  first.kill("SIGKILL");
  await waitFor(
    async () => !(await running(await pidIn(`${where.work}/leader`))),
    "the leader's parent-death signal",
  );
  deepStrictEqual(await running(await pidIn(`${where.work}/child`)), true);
  deepStrictEqual(await ended(second), {
    code: 0,
    stdout: "B ran\n",
    stderr: "printer: waiting, 1 ahead\n",
  });
});

Deno.test("turn run (redis): a lost turn's command that ignores SIGTERM gets SIGKILL after --kill-after, before anyone else is granted", async () => {
  await using where = await domain("redis");
  const script = `trap 'echo got TERM' TERM; echo $$ > ${where.work}/leader; ` +
    `echo $$ > ${where.work}/child; echo started; ` +
    "while :; do sleep 0.05; done 2>&-";
  await using first = run(
    where,
    ["--expire", "6s", "--kill-after", "1s"],
    script,
  );
  await first.stdoutHas("started\n");
  await using second = run(where, [], witnessCommand(where.work));
  await using _reaper = reaper(where.work);
  await second.stderrHas("printer: waiting, 1 ahead\n");
  const redis = new Redis(where.url);
  try {
    // Every client but this one: the turn's connections among them.
    for (const type of ["normal", "pubsub"]) {
      await redis.call("CLIENT", "KILL", "TYPE", type, "SKIPME", "yes");
    }
  } finally {
    redis.disconnect();
  }
  const { code, stdout, stderr } = await ended(first);
  deepStrictEqual({ code, stdout, stderr }, {
    code: 70,
    stdout: "started\ngot TERM\n",
    stderr:
      'turn: lost the turn on "printer" (number 1): the connection to Redis was lost (its keys may be gone)\n',
  });
  deepStrictEqual(await ended(second), {
    code: 0,
    stdout: "B ran\n",
    stderr: "printer: waiting, 1 ahead\n",
  });
});

Deno.test("turn run (redis): when renewals stop reaching Redis, the command gets SIGTERM, then SIGKILL, before its presence can lapse", async () => {
  await using where = await domain("redis");
  const work = where.work;
  const script = `trap 'date +%s%3N > ${work}/term' TERM; ` +
    `echo $$ > ${work}/leader; echo $$ > ${work}/child; echo started; ` +
    "while :; do sleep 0.05; done 2>&-";
  // Long enough for a margin (a tenth of expire) that a loaded machine keeps.
  const expire = 9_000;
  await using first = run(
    where,
    ["--expire", `${expire}ms`, "--kill-after", "1s"],
    script,
  );
  await using _reaper = reaper(work);
  await first.stdoutHas("started\n");
  // Frozen, Redis lets no renewal through and no key lapse.
  const redis = where.server!.process.pid;
  const stoppedAt = Date.now();
  Deno.kill(redis, "SIGSTOP");
  try {
    await waitFor(
      async () => !(await running(await pidIn(`${work}/leader`))),
      "the command's end",
      20_000,
    );
    const deadAt = Date.now();
    const termAt = await pidIn(`${work}/term`);
    console.log(
      `Redis frozen: SIGTERM after ${
        termAt - stoppedAt
      } ms, command dead after ${deadAt - stoppedAt} ms (expire ${expire} ms)`,
    );
    // The last renewal that reached Redis was sent before it froze: the
    // presence cannot lapse before stoppedAt + expire.
    deepStrictEqual({
      termFirst: termAt <= deadAt,
      beforeLapse: deadAt < stoppedAt + expire,
    }, { termFirst: true, beforeLapse: true });
  } finally {
    Deno.kill(redis, "SIGCONT");
  }
  const { code, stderr } = await ended(first);
  deepStrictEqual(code, 70);
  match(
    stderr,
    /^turn: lost the turn on "printer" \(number 1\): no renewal reached Redis for \d+s; the command was stopped before its presence could lapse\n$/,
  );
});

Deno.test("turn run on a terminal: the command has no /dev/tty, unless --foreground", async () => {
  await using where = await domain("redis");
  const probe = "(: </dev/tty) 2>/dev/null && echo tty ok || echo no tty";
  for (const [flags, says] of [[[], "no tty"], [["--foreground"], "tty ok"]]) {
    await using cli = spawnCli(
      [
        "--url",
        where.url,
        "run",
        ...flags,
        "printer",
        "--",
        "sh",
        "-c",
        probe,
      ],
      { terminal: true, permissions: where.permissions },
    );
    const { code, stdout } = await ended(cli);
    deepStrictEqual({ code, stdout }, { code: 0, stdout: `${says}\r\n` });
  }
});
