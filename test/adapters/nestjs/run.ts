/**
 * Runs a NestJS fixture app as its own process under the import map of one
 * NestJS major (test/adapters/nestjs/v11 or v12) and reads its READY/RESULT lines.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { within } from "../../support/helpers.ts";

/** The NestJS majors the adapter is tested with. */
export const VERSIONS = ["11", "12"] as const;
/** One of {@linkcode VERSIONS}. */
export type Version = typeof VERSIONS[number];

const HERE = fileURLToPath(new URL(".", import.meta.url));
const LINE_TIMEOUT_MS = 60_000;

/** The deno.json that maps the packages of NestJS `version`. */
export function configOf(version: Version): string {
  return `${HERE}v${version}/deno.json`;
}

/** A running fixture process. */
export class Fixture implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: Promise<string>;
  readonly name: string;

  constructor(
    version: Version,
    file: string,
    options: { args?: string[]; env?: Record<string, string> } = {},
  ) {
    this.name = `${file} (NestJS ${version})`;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--quiet",
        "--config",
        configOf(version),
        `${HERE}${file}`,
        ...(options.args ?? []),
      ],
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#lines = lines(this.#child.stdout);
    this.#stderr = new Response(this.#child.stderr).text();
  }

  /** Sends a signal to the process. */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Waits for the next line tagged `tag` and returns its JSON value. */
  async next<T = unknown>(tag: "READY" | "RESULT"): Promise<T> {
    while (true) {
      const line = await this.#nextLine(tag);
      if (line.startsWith(`${tag} `)) {
        return JSON.parse(line.slice(tag.length + 1)) as T;
      }
    }
  }

  async #nextLine(tag: string): Promise<string> {
    const line = await this.#within(this.#lines.next(), `a ${tag} line`);
    if (line.done) {
      throw new Error(
        `${this.name} ended before ${tag}:\n${await this.#stop()}`,
      );
    }
    return line.value;
  }

  /** Waits (boundedly) for the process to exit by itself; returns its exit code. */
  async exit(): Promise<number> {
    return (await this.#within(this.#child.status, "its exit")).code;
  }

  /** `promise`, bounded; on failure the error carries the process's stderr. */
  async #within<T>(promise: Promise<T>, what: string): Promise<T> {
    try {
      return await within(promise, LINE_TIMEOUT_MS, `${this.name}: ${what}`);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await this.#stop()}`);
    }
  }

  /** Kills the process (if still running) and returns its stderr. */
  async #stop(): Promise<string> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#child.status;
    return await this.#stderr;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stop();
    // Drain stdout so the pipe is closed.
    while (!(await this.#lines.next()).done) { /* discard */ }
  }
}

async function* lines(stream: ReadableStream<Uint8Array>) {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
    }
  }
  if (buffer) yield buffer;
}
