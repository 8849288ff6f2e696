/**
 * What docs/ARCHITECTURE.md says of imports, checked on the module graph
 * `deno info` reports from every entry point: down the layers, never up, and
 * neither backend importing the other. A module under src/ that the page
 * gives no layer fails too, so the page names every one.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const SRC = new URL("src/", ROOT).href;
const ENTRY_POINTS = [
  "mod.ts",
  "cli.ts",
  "dashboard.ts",
  "adapters/nestjs.ts",
  "adapters/bullmq.ts",
];

/** The layers of docs/ARCHITECTURE.md, top first, by path under src/. */
const LAYERS: readonly (readonly RegExp[])[] = [
  [/^cli\//, /^dashboard\//],
  [/^(locker|lock_set|callbacks)\.ts$/],
  [/^(backend|telemetry)\.ts$/],
  [/^redis\//, /^file\//],
  [/^(core|await_turn|ticket|steps|engine|wait|deferred|places)\.ts$/],
  [
    /^(lock|follow|errors|types|messages|validate|grant_rule|turn_mode)\.ts$/,
  ],
];

function layerOf(path: string): number {
  const layer = LAYERS.findIndex((names) => names.some((re) => re.test(path)));
  if (layer < 0) {
    throw new Error(`src/${path} has no layer in docs/ARCHITECTURE.md`);
  }
  return layer;
}

interface Dependency {
  readonly code?: { readonly specifier: string };
  readonly type?: { readonly specifier: string };
}

interface Module {
  readonly specifier: string;
  readonly dependencies?: readonly Dependency[];
}

/** Every import between two modules under src/, as `from -> to` paths. */
async function srcImports(): Promise<[string, string][]> {
  const edges = new Map<string, [string, string]>();
  for (const entry of ENTRY_POINTS) {
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stderr: "null",
    }).output();
    assert.ok(success, `deno info ${entry} failed`);
    const graph = JSON.parse(new TextDecoder().decode(stdout));
    for (const module of graph.modules as Module[]) {
      if (!module.specifier.startsWith(SRC)) continue;
      const from = module.specifier.slice(SRC.length);
      for (const dependency of module.dependencies ?? []) {
        for (const target of [dependency.code, dependency.type]) {
          if (!target?.specifier.startsWith(SRC)) continue;
          const to = target.specifier.slice(SRC.length);
          edges.set(`${from} -> ${to}`, [from, to]);
        }
      }
    }
  }
  return [...edges.values()];
}

Deno.test("imports under src/ go down docs/ARCHITECTURE.md's layers, and no backend imports the other", async () => {
  const edges = await srcImports();
  assert.ok(edges.length > 100, `only ${edges.length} imports found`);
  const wrong = edges.filter(([from, to]) => {
    const [above, below] = [layerOf(from), layerOf(to)];
    const backend = (path: string) => path.split("/")[0];
    const across = above === 3 && below === 3 && backend(from) !== backend(to);
    return below < above || across;
  });
  assert.deepEqual(wrong.map(([from, to]) => `src/${from} -> src/${to}`), []);
});
