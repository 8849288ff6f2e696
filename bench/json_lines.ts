/**
 * Newline-delimited JSON over a byte stream: how the bench talks to its
 * worker processes.
 *
 * @module
 */

/** Yields each line of `stream` parsed as JSON. */
export async function* readJsonLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<unknown> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      yield JSON.parse(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
    }
  }
}

const encoder = new TextEncoder();

/** One value as a JSON line. */
export function jsonLine(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value) + "\n");
}
