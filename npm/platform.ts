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

/** A signal the CLI listens for or forwards. */
export type Signal = "SIGINT" | "SIGTERM" | "SIGBREAK";

/**
 * The signals that end a `turn` command. Windows has no SIGTERM to listen
 * for; Ctrl-Break is its second way to stop a console program.
 */
export const ENDING_SIGNALS: readonly Signal[] = process.platform === "win32"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM"];

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
  /** The exit code: 128 + N if signal N ended it. */
  readonly exitCode: Promise<number>;
  /** Sends `signal`; does nothing once the command has exited. */
  kill(signal: Signal): void;
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
): Promise<Child> {
  const child = spawn(program, args, { stdio: "inherit" });
  const exitCode = new Promise<number>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("spawn", () => {
      resolve({
        exitCode,
        kill(signal) {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill(signal);
          }
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
