/**
 * Everything the `turn` command needs from its runtime, for Deno. The npm
 * build replaces this file with `npm/platform.ts`, the same functions for
 * Node: Node's `child_process` under Deno needs env access that the CLI's
 * least-privilege install does not grant (and the child would lose its
 * environment), so each runtime gets its own small version of these.
 *
 * @module
 */

/** A signal the CLI listens for or sends. */
export type Signal = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGBREAK" | "SIGKILL";

/**
 * The signals that end a `turn` command: SIGHUP too, so a dropped SSH
 * session ends it as cleanly as Ctrl-C. Windows has no SIGTERM or SIGHUP to
 * listen for; Ctrl-Break is its second way to stop a console program.
 */
export const ENDING_SIGNALS: readonly Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * This process's id and the kind of system it runs on.
 *
 * @example Usage
 * ```ts
 * import { PROCESS } from "./platform.ts";
 * console.log(PROCESS.os); // e.g. "linux"
 * ```
 */
export const PROCESS: {
  readonly pid: number;
  readonly os: "linux" | "windows" | "other";
} = {
  pid: Deno.pid,
  os: Deno.build.os === "linux" || Deno.build.os === "windows"
    ? Deno.build.os
    : "other",
};

/**
 * Calls `listener` on every `signal` until the returned function is called.
 *
 * @example Usage
 * ```ts
 * import { listen } from "./platform.ts";
 * const stop = listen("SIGINT", () => console.log("Ctrl-C"));
 * stop();
 * ```
 */
export function listen(signal: Signal, listener: () => void): () => void {
  Deno.addSignalListener(signal, listener);
  return () => Deno.removeSignalListener(signal, listener);
}

/**
 * Writes some of `bytes` to stdout, synchronously.
 *
 * @returns How many bytes were written.
 * @throws {Error} With `code` `"EPIPE"` when nobody reads stdout any more.
 *
 * @example Usage
 * ```ts
 * import { writeStdout } from "./platform.ts";
 * writeStdout(new TextEncoder().encode("hello\n"));
 * ```
 */
export function writeStdout(bytes: Uint8Array): number {
  return Deno.stdout.writeSync(bytes);
}

/**
 * Whether stdout is a terminal, and whether colour is wanted there.
 *
 * @example Usage
 * ```ts
 * import { stdoutStyle } from "./platform.ts";
 * console.log(stdoutStyle()); // e.g. { terminal: false, colour: false }
 * ```
 */
export function stdoutStyle(): { terminal: boolean; colour: boolean } {
  const terminal = Deno.stdout.isTerminal();
  return { terminal, colour: terminal && !Deno.noColor };
}

/** A started command. */
export interface Child {
  /** Its process id (with `group`, also its process group's id). */
  readonly pid: number;
  /** The exit code: 128 + N if signal N ended it. */
  readonly exitCode: Promise<number>;
  /**
   * Sends `signal` to it, or with `group` to every process in its group;
   * does nothing once they have exited.
   */
  kill(signal: Signal): void;
}

/** How to start a command. */
export interface SpawnOptions {
  /** Variables added to the command's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Start it in a session and process group of its own (not on Windows). */
  readonly group?: boolean;
}

/**
 * Starts `program` with stdin, stdout and stderr passed through.
 *
 * @throws {Error} With `code` `"ENOENT"` when `program` is not found, or
 * `"EACCES"` when it cannot be executed.
 *
 * @example Usage
 * ```ts
 * import { spawnInherited } from "./platform.ts";
 * const child = await spawnInherited("true", []);
 * console.log(await child.exitCode); // 0
 * ```
 */
// deno-lint-ignore require-await
export async function spawnInherited(
  program: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<Child> {
  const group = options.group === true;
  const child = new Deno.Command(program, {
    args: [...args],
    env: { ...options.env },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
    detached: group,
  }).spawn();
  return {
    pid: child.pid,
    exitCode: child.status.then(({ code }) => code),
    kill(signal) {
      try {
        if (group) Deno.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // It has already exited; its status says how.
      }
    },
  };
}

/** A started helper that reads one message from a pipe. */
export interface PipedChild {
  /** Writes `text`, closes the pipe and waits for the helper to exit. */
  end(text: string): Promise<void>;
}

/**
 * Starts `program` with its stdin a pipe from this process (closed by the
 * OS when this process dies, however it dies) and no output.
 *
 * @example Usage
 * ```ts
 * import { spawnPiped } from "./platform.ts";
 * const child = await spawnPiped("cat", []);
 * await child.end("bye\n");
 * ```
 */
// deno-lint-ignore require-await
export async function spawnPiped(
  program: string,
  args: readonly string[],
): Promise<PipedChild> {
  const child = new Deno.Command(program, {
    args: [...args],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  return {
    async end(text) {
      try {
        await writer.write(new TextEncoder().encode(text));
        await writer.close();
      } catch {
        // It has exited already.
      }
      await child.status;
    },
  };
}

/**
 * Runs `main` with the program's arguments and exits with its code. A
 * failure outside main's own promise chain goes to `report` too, so no stack
 * trace ever reaches the user.
 *
 * @example Usage
 * ```ts ignore
 * import { runProgram } from "./platform.ts";
 * await runProgram(async (args) => args.length, () => 1);
 * ```
 */
export async function runProgram(
  main: (args: readonly string[]) => Promise<number>,
  report: (error: unknown) => number,
): Promise<never> {
  for (const type of ["error", "unhandledrejection"] as const) {
    globalThis.addEventListener(type, (event) => {
      event.preventDefault();
      Deno.exit(report("reason" in event ? event.reason : event.error));
    });
  }
  Deno.exit(await main(Deno.args));
}
