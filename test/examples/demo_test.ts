// `deno task demo` on a fresh checkout with an empty Deno cache, as a new
// user first runs it: it installs nothing, prints no warning, shows turn
// serving every grant in order, and ends with its summary.
import { equal, match, ok } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The files of a fresh checkout: tracked, or new and not ignored. */
async function checkoutFiles(): Promise<string[]> {
  const { code, stdout } = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  equal(code, 0, "git ls-files failed");
  return new TextDecoder().decode(stdout).split("\0").filter(Boolean);
}

async function copyCheckout(to: string): Promise<void> {
  for (const file of await checkoutFiles()) {
    const target = `${to}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
      recursive: true,
    });
    await Deno.copyFile(`${ROOT}${file}`, target).catch((error) => {
      // A file deleted in the working tree but not yet in the index.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

Deno.test("deno task demo: nothing installed, no warnings, turn in order, a summary", async () => {
  const checkout = await Deno.makeTempDir({ prefix: "turn-checkout-" });
  const denoDir = await Deno.makeTempDir({ prefix: "turn-deno-dir-" });
  try {
    await copyCheckout(checkout);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "demo"],
      cwd: checkout,
      env: { DENO_DIR: denoDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    equal(code, 0, out + err);
    // deno task announces the command it runs; nothing else may reach stderr.
    equal(
      err.trim(),
      "Task demo deno run --no-config --allow-run --allow-read --allow-write examples/demo/main.ts",
    );
    for (
      const noise of [
        /Download/,
        /Initialize/,
        /build scripts/,
        /deprecated/i,
        /Warning/i,
      ]
    ) {
      ok(!noise.test(out), `${noise} in:\n${out}`);
    }
    match(
      out,
      /^ {2}earlier waiter passed: turn 0 of 16 grants, polling lock \d+ of 16$/m,
    );
    match(out, /^ {2}worst wait: +turn \d+ ms, polling lock \d+ ms$/m);
    match(out, /^ {2}holder killed: +the next user started \d+ ms later$/m);
    const nodeModules = await Deno.stat(`${checkout}/node_modules`).catch(() =>
      null
    );
    equal(nodeModules, null, "the demo filled node_modules");
  } finally {
    await Deno.remove(checkout, { recursive: true });
    await Deno.remove(denoDir, { recursive: true });
  }
});
