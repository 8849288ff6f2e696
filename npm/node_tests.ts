/**
 * `deno task test:node`: builds the npm package, installs it in the Node test
 * project (test/node) the way an application would, from the packed tarball,
 * and runs the tests there with Node's own test runner.
 *
 * @module
 */

import { buildNpm } from "./build.ts";

const PROJECT = new URL("../test/node/", import.meta.url);

async function run(program: string, ...args: string[]): Promise<void> {
  const { code } = await new Deno.Command(program, { args, cwd: PROJECT })
    .spawn().status;
  if (code !== 0) {
    throw new Error(`${program} ${args.join(" ")} failed with ${code}`);
  }
}

const started = Date.now();
await buildNpm();
console.log(`test:node: built the npm package in ${Date.now() - started} ms`);
// The tarball's name and version stay the same from build to build, so npm
// would keep the old copy.
await Deno.remove(new URL("node_modules/@turn/turn", PROJECT), {
  recursive: true,
}).catch(() => {});
await run("npm", "install", "--no-audit", "--no-fund", "--prefer-offline");
await run("node", "node_modules/typescript/bin/tsc", "-p", "tsconfig.json");
await run("node", "--test", "dist/");
console.log(`test:node: done in ${Date.now() - started} ms`);
