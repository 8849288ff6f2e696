import assert from "node:assert/strict";
import { fixture, lockerTest, within } from "./support/helpers.ts";

lockerTest(
  "a throwing onQueue callback is reported, and neither the wait nor other turns suffer",
  async (t) => {
    const run = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", fixture("throwing_on_queue.ts"), t.url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const { code, stdout, stderr } = await within(run, 30_000, "the process");
    const [out, err] = [stdout, stderr].map((b) => new TextDecoder().decode(b));
    assert.equal(out, "granted\nkept\n", err);
    assert.equal(code, 0, err);
    assert.match(err, /the onQueue callback failed; carrying on/);
    assert.match(err, /onQueue failed on purpose/);
    assert.deepEqual(await t.leftovers(), []);
  },
);
