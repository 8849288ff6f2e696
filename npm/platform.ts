/**
 * Everything the `turn` command needs from its runtime, for Node. The npm
 * build puts this file in place of `src/cli/platform.ts` (the Deno version);
 * both export the same functions, and callers are type-checked against each.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { writeSync } from "node:fs";
import { constants } from "node:os";
import process from "node:process";

/** A signal the CLI listens for or sends. */
export type Signal = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGBREAK" | "SIGKILL";

/**
 * The signals that end a `turn` command: SIGHUP too, so a dropped SSH
 * session ends it as cleanly as Ctrl-C. Windows has no SIGTERM or SIGHUP to
 * listen for; Ctrl-Break is its second way to stop a console program.
 */
export const ENDING_SIGNALS: readonly Signal[] = process.platform === "win32"
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
  pid: process.pid,
  os: process.platform === "linux"
    ? "linux"
    : process.platform === "win32"
    ? "windows"
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
  process.on(signal, listener);
  return () => process.off(signal, listener);
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));
const FULL_PIPE_WAIT_MS = 5;

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
  for (;;) {
    try {
      return writeSync(1, bytes);
    } catch (error) {
      // Node makes a stdout pipe non-blocking: a full pipe is not an error,
      // the reader is just slower than us. Block briefly and try again.
      if ((error as { code?: unknown }).code !== "EAGAIN") throw error;
      Atomics.wait(PAUSE, 0, 0, FULL_PIPE_WAIT_MS);
    }
  }
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
  const terminal = process.stdout.isTTY === true;
  const noColor = (process.env.NO_COLOR ?? "") !== "";
  return { terminal, colour: terminal && !noColor };
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
 * Starts `program` with stdin, stdout and stderr passed through, and
 * resolves once it runs.
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
export function spawnInherited(
  program: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<Child> {
  const group = options.group === true;
  const child = spawn(program, args, {
    stdio: "inherit",
    env: { ...process.env, ...options.env },
    detached: group,
  });
  const exitCode = new Promise<number>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("spawn", () => {
      resolve({
        pid: child.pid!,
        exitCode,
        kill(signal) {
          try {
            if (group) process.kill(-child.pid!, signal);
            else if (running()) child.kill(signal);
          } catch {
            // They have all exited.
          }
        },
      });
    });
  });
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
export function spawnPiped(
  program: string,
  args: readonly string[],
): Promise<PipedChild> {
  const child = spawn(program, args, { stdio: ["pipe", "ignore", "ignore"] });
  const exited = new Promise<void>((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("spawn", () => {
      resolve({
        async end(text) {
          child.stdin!.on("error", () => {});
          child.stdin!.end(text);
          await exited;
        },
      });
    });
  });
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
  for (const type of ["uncaughtException", "unhandledRejection"] as const) {
    process.on(type, (error: unknown) => process.exit(report(error)));
  }
  process.exit(await main(process.argv.slice(2)));
}
