/**
 * Everything the `turn` command needs from its runtime, for Deno. The npm
 * build replaces this file with `npm/platform.ts`, the same functions for
 * Node: Node's `child_process` under Deno needs env access that the CLI's
 * least-privilege install does not grant (and the child would lose its
 * environment), so each runtime gets its own small version of these.
 *
 * @module
 */

/** A signal the CLI listens for or forwards. */
export type Signal = "SIGINT" | "SIGTERM" | "SIGBREAK";

/**
 * The signals that end a `turn` command. Windows has no SIGTERM to listen
 * for; Ctrl-Break is its second way to stop a console program.
 */
export const ENDING_SIGNALS: readonly Signal[] = Deno.build.os === "windows"
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
  /** The exit code: 128 + N if signal N ended it. */
  readonly exitCode: Promise<number>;
  /** Sends `signal`; does nothing once the command has exited. */
  kill(signal: Signal): void;
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
): Promise<Child> {
  const child = new Deno.Command(program, {
    args: [...args],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return {
    exitCode: child.status.then(({ code }) => code),
    kill(signal) {
      try {
        child.kill(signal);
      } catch {
        // It has already exited; its status says how.
      }
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
