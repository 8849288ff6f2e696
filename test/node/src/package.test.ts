// What npm shows and ships about the package, read from the copy installed
// from the tarball: where the project lives, and its licence.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { PROJECT } from "./helpers.js";

const INSTALLED = `${PROJECT}node_modules/@turn/turn/`;

test("package.json names the repository, homepage and issue tracker", async () => {
  const manifest = JSON.parse(
    await readFile(`${INSTALLED}package.json`, "utf8"),
  );
  assert.deepEqual(manifest.repository, {
    type: "git",
    url: "git+https://github.com/turn-lock/turn.git",
  });
  assert.equal(manifest.homepage, "https://github.com/turn-lock/turn#readme");
  assert.deepEqual(manifest.bugs, {
    url: "https://github.com/turn-lock/turn/issues",
  });
  assert.equal(manifest.license, "MIT");
});

test("the tarball carries the MIT licence", async () => {
  const licence = await readFile(`${INSTALLED}LICENSE`, "utf8");
  assert.match(licence, /^MIT License\n\nCopyright \(c\) 2026 the turn authors\n/);
});
