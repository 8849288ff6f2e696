/**
 * `deno task build:npm`: turns the module's sources into an npm package in
 * build/npm (ESM JavaScript, `.d.ts` files, package.json with `exports` and
 * the `turn` bin) and packs it as build/turn.tgz.
 *
 * The usual tool, `@deno/dnt`, lives only on JSR, so this uses TypeScript's
 * own compiler: `rewriteRelativeImportExtensions` turns `./x.ts` imports into
 * `./x.js`. tsc compiles a copy of the sources in build/npm-src, where
 * npm/platform.ts replaces src/cli/platform.ts (the CLI's few runtime calls),
 * npm/file/backend.ts replaces src/file/backend.ts (the Deno-only file backend)
 * and npm/bin.ts starts the CLI. The copy is type-checked against Node 20's
 * types and language level, so nothing Node 20 lacks gets through.
 *
 * @module
 */

import { cp } from "node:fs/promises";

const ROOT = new URL("../", import.meta.url);
const STAGE = new URL("build/npm-src/", ROOT);
const OUT = new URL("build/npm/", ROOT);
const TARBALL = new URL("build/turn.tgz", ROOT);

/** Copies sources, leaving out the tests that sit beside them. */
function copy(from: URL, to: URL): Promise<void> {
  return cp(from, to, {
    recursive: true,
    filter: (source) => !source.endsWith("_test.ts"),
  });
}

/** Where the project lives; npm links the README's relative links there. */
const REPOSITORY = "https://github.com/turn-lock/turn";

/** The sources of the package, as in deno.json's `exports`. */
const SOURCES = ["mod.ts", "cli.ts", "dashboard.ts", "src", "adapters"];

interface DenoJson {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly exports: Record<string, string>;
  readonly imports: Record<string, string>;
}

const denoJson: DenoJson = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", ROOT)),
);

/**
 * Builds build/npm and packs it as build/turn.tgz.
 *
 * @returns The path of the tarball.
 */
export async function buildNpm(): Promise<string> {
  await stage();
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"]);
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  await run("node", ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"]);
  await Deno.writeTextFile(
    new URL("package.json", OUT),
    JSON.stringify(packageJson(), null, 2) + "\n",
  );
  for (const file of ["README.md", "LICENSE"]) {
    await Deno.copyFile(new URL(file, ROOT), new URL(file, OUT));
  }
  await Deno.chmod(new URL("bin/turn.js", OUT), 0o755);
  await pack();
  return TARBALL.pathname;
}

/** Copies the sources into the stage, keeping its installed toolchain. */
async function stage(): Promise<void> {
  await Deno.mkdir(STAGE, { recursive: true });
  for await (const entry of Deno.readDir(STAGE)) {
    if (entry.name === "node_modules") continue;
    await Deno.remove(new URL(entry.name, STAGE), { recursive: true });
  }
  for (const source of SOURCES) {
    await copy(new URL(source, ROOT), new URL(source, STAGE));
  }
  const npm = new URL("npm/", ROOT);
  await copy(
    new URL("platform.ts", npm),
    new URL("src/cli/platform.ts", STAGE),
  );
  await copy(
    new URL("file/backend.ts", npm),
    new URL("src/file/backend.ts", STAGE),
  );
  await copy(new URL("bin.ts", npm), new URL("bin/turn.ts", STAGE));
  for (const file of ["package.json", "package-lock.json"]) {
    await copy(new URL(file, npm), new URL(file, STAGE));
  }
  await Deno.writeTextFile(
    new URL("tsconfig.json", STAGE),
    JSON.stringify(tsconfig(), null, 2),
  );
  // Deno's `import.meta.main`; Node 20 leaves it undefined, hence bin/turn.
  await Deno.writeTextFile(
    new URL("import_meta.d.ts", STAGE),
    "interface ImportMeta { readonly main: boolean }\n",
  );
}

function tsconfig(): unknown {
  return {
    compilerOptions: {
      // What Node 20 runs natively; `using` is lowered to helpers.
      target: "ES2022",
      lib: ["ES2023", "ES2024.String", "ESNext.Disposable"],
      types: ["node"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      declaration: true,
      skipLibCheck: true,
      rootDir: ".",
      outDir: "../npm",
    },
    files: [
      ...Object.values(denoJson.exports),
      "bin/turn.ts",
      "import_meta.d.ts",
    ],
  };
}

function packageJson(): unknown {
  const entry = (path: string) => path.replace(/^\.\//, "./").slice(0, -3);
  const exports = Object.fromEntries(
    Object.entries(denoJson.exports).map(([name, path]) => [name, {
      types: `${entry(path)}.d.ts`,
      default: `${entry(path)}.js`,
    }]),
  );
  const optional = { optional: true };
  return {
    name: denoJson.name,
    version: denoJson.version,
    description:
      "Take turns on a shared resource across programs and hosts through Redis: fair, fast, crash-safe. Speaks turn 1.0's protocol.",
    license: denoJson.license,
    repository: { type: "git", url: `git+${REPOSITORY}.git` },
    homepage: `${REPOSITORY}#readme`,
    bugs: { url: `${REPOSITORY}/issues` },
    type: "module",
    exports,
    bin: { turn: "./bin/turn.js" },
    engines: { node: ">=20" },
    dependencies: {
      ioredis: npmRange("ioredis"),
      "@opentelemetry/api": npmRange("@opentelemetry/api"),
    },
    // Each adapter works with the application's own copy; a user of the
    // Locker alone needs none of them.
    peerDependencies: {
      "@nestjs/common": "^11 || ^12",
      "@nestjs/core": "^11 || ^12",
      bullmq: "^5.64.0 || ^6",
    },
    peerDependenciesMeta: {
      "@nestjs/common": optional,
      "@nestjs/core": optional,
      bullmq: optional,
    },
  };
}

/** The version range deno.json gives an npm package, e.g. `^6`. */
function npmRange(name: string): string {
  const specifier = denoJson.imports[name];
  const range = specifier?.match(/^npm:(?:@[^/]+\/)?[^@]+@(.+)$/)?.[1];
  if (range === undefined) {
    throw new Error(`deno.json must import ${name} as npm:${name}@RANGE`);
  }
  return range;
}

async function pack(): Promise<void> {
  const packed = await run("npm", ["pack", "--silent", OUT.pathname]);
  const name = packed.trim().split("\n").at(-1)!;
  await Deno.rename(new URL(name, STAGE), TARBALL);
}

async function run(program: string, args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    cwd: STAGE,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(
      `${program} ${args.join(" ")} failed (${code}):\n${text}${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  return text;
}

if (import.meta.main) {
  console.log(`built ${OUT.pathname} and ${await buildNpm()}`);
}
