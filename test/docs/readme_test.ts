// The README's first screen: short, and every command in it is run by a test
// or by CI, except the registry installs, which it says are not available yet.
import { deepEqual, match, ok } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const README = await Deno.readTextFile(new URL("README.md", ROOT));
const FIRST_SCREEN = README.slice(0, README.indexOf("\n## One example"));

/** Where each command of the first screen is run. */
const RUN_BY: Record<string, string> = {
  "deno task demo": "test/examples/demo_test.ts",
  "deno task test": ".ci/run",
};
/** Installs from a registry, which the README says has no package yet. */
const REGISTRY = ["deno add jsr:@turn/turn", "npx jsr add @turn/turn"];

function commandsOf(text: string): string[] {
  const blocks = [...text.matchAll(/```sh\n(.*?)```/gs)].map((m) => m[1]);
  return blocks.flatMap((block) => block.split("\n"))
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter(Boolean);
}

Deno.test("the README's first screen fits in 60 lines", () => {
  const lines = FIRST_SCREEN.split("\n").length;
  ok(lines <= 60, `${lines} lines`);
});

Deno.test("every command on the README's first screen is run somewhere", async () => {
  const commands = commandsOf(FIRST_SCREEN);
  deepEqual(
    commands.filter((c) => !(c in RUN_BY) && !REGISTRY.includes(c)),
    [],
  );
  for (const command of commands.filter((c) => c in RUN_BY)) {
    const runner = await Deno.readTextFile(new URL(RUN_BY[command], ROOT));
    ok(
      runner.includes(`"${command.split(" ").at(-1)}"`) ||
        runner.includes(command),
      `${RUN_BY[command]} does not run ${command}`,
    );
  }
  match(FIRST_SCREEN, /Neither registry has the package yet/);
});
