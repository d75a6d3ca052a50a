import path from "node:path";
import { build, type Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/stack.ts";

/**
 * What a Lambda loads at init is its entry and everything reached from it by
 * static imports; a dynamic `import()` is loaded when first run (and, with
 * code splitting, is its own file). This walks esbuild's metafile of each
 * entry along static imports only, so it holds whatever bundling the stack
 * chooses: the validator generator (ajv, ajv-formats, fast-uri) is reached
 * only by publishing, RE2 (re2js) only by a builder pattern.
 */

interface Graph {
  entry: string;
  metafile: Metafile;
}

async function graphOf(entry: string): Promise<Graph> {
  const { metafile } = await build({
    entryPoints: [path.join(REPO_ROOT, entry)],
    absWorkingDir: REPO_ROOT,
    bundle: true,
    write: false,
    metafile: true,
    minify: true,
    platform: "node",
    format: "esm",
    mainFields: ["module", "main"],
    alias: { zod: "./infra/zod-english.js" },
    outfile: "out/index.mjs",
    logLevel: "silent",
  });
  return { entry, metafile };
}

/** The inputs reached from the entry through static imports only. */
function staticallyReached({ entry, metafile }: Graph): Set<string> {
  const reached = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const input = queue.pop() as string;
    if (reached.has(input)) continue;
    reached.add(input);
    for (const i of metafile.inputs[input]?.imports ?? [])
      if (i.kind !== "dynamic-import" && !i.external) queue.push(i.path);
  }
  return reached;
}

/** Minified bytes of the inputs reached, as the bundle carries them. */
function bytesOf({ metafile }: Graph, inputs: Set<string>): number {
  const [output] = Object.values(metafile.outputs);
  let bytes = 0;
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {}))
    if (inputs.has(input)) bytes += bytesInOutput;
  return bytes;
}

const GENERATOR = /node_modules\/(ajv\/(?!dist\/runtime\/)|ajv-formats\/|fast-uri\/)/;
const RE2 = /node_modules\/re2js\//;

let api: Graph;
beforeAll(async () => {
  api = await graphOf("functions/handlers/api.ts");
}, 120_000);

describe("what the API function loads at init", () => {
  it("does not load the validator generator (ajv, ajv-formats, fast-uri) nor RE2: publishing and patterns import them", () => {
    const init = staticallyReached(api);
    const all = Object.keys(api.metafile.inputs);
    console.info(
      `API: ${bytesOf(api, init)} bytes reached by static imports of ${bytesOf(api, new Set(all))} bundled`,
    );
    // They are in the bundle (dynamic imports), so the walk is looking at the right graph.
    expect(all.some((s) => GENERATOR.test(s))).toBe(true);
    expect(all.some((s) => RE2.test(s))).toBe(true);
    expect([...init].filter((s) => GENERATOR.test(s) || RE2.test(s))).toEqual([]);
    // ajv's two run-time helpers are what stored validator code requires: those are loaded.
    expect([...init].some((s) => s.includes("ajv/dist/runtime/equal"))).toBe(true);
  });
});
