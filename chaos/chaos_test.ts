// A short, fixed set of chaos runs for CI: each seed replays the same
// schedule of operations and faults, on both backends. `deno task chaos`
// runs longer and with any seed.
import assert from "node:assert/strict";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
// The run itself, its end (workers close and exit) and the last user's
// wait for the longest expire: far below this.
const RUN_BOUND_MS = 120_000;

const RUNS = [
  { backend: "redis", seed: 1, seconds: 10 },
  { backend: "redis", seed: 2, seconds: 10 },
  { backend: "file", seed: 1, seconds: 6 },
  { backend: "file", seed: 2, seconds: 6 },
] as const;

for (const { backend, seed, seconds } of RUNS) {
  Deno.test(`chaos: seed ${seed}, ${seconds} s on the ${backend} backend`, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "--seed",
        String(seed),
        "--seconds",
        String(seconds),
        "--backend",
        backend,
        "--workers",
        "4",
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_BOUND_MS),
    }).spawn();
    const { code, stdout, stderr } = await child.output();
    const text = new TextDecoder().decode(stdout) +
      new TextDecoder().decode(stderr);
    assert.equal(code, 0, text);
    assert.match(text, /no violations/);
  });
}
