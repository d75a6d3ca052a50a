import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Imports point down, never up or sideways:
 *   handlers | cli | local → dev-environment → dev → app → api | web → http → exports → store | protocol files → engine
 * engine imports nothing of ours. A layer is a folder under functions/ or a root module.
 */
const LAYERS: Record<string, number> = {
  engine: 0,
  store: 1,
  "definition-files": 1,
  "publish-plan": 1,
  exports: 2,
  http: 3,
  api: 4,
  web: 4,
  app: 5,
  // The local OpenID provider: above app so nothing the Lambda bundles can reach it, below dev-environment which starts it.
  dev: 5.5,
  "dev-environment": 6,
  handlers: 7,
  cli: 7,
  local: 7,
};

const ROOT = path.resolve(import.meta.dirname, "../../functions");
const SOURCE = /\.(ts|tsx)$/;
const GENERATED = /\.generated\.ts$|\.d\.ts$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return SOURCE.test(e.name) && !GENERATED.test(e.name) ? [full] : [];
  });
}

/** Every relative import and re-export of a file, resolved to a path under functions/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+["'](\.{1,2}\/[^"']+)["']/g)];
  const dynamic = [...text.matchAll(/import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)];
  return [...specs, ...dynamic].map((m) => path.resolve(path.dirname(file), m[1] ?? ""));
}

const layerOf = (file: string) => path.relative(ROOT, file).split(path.sep)[0]?.replace(SOURCE, "") ?? "";
const rel = (file: string) => path.relative(ROOT, file);

function directionViolations(files: string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    for (const target of importsOf(file)) {
      if (!target.startsWith(ROOT)) continue;
      const to = layerOf(target);
      if (to === from) continue;
      const [a, b] = [LAYERS[from], LAYERS[to]];
      if (a === undefined || b === undefined) out.push(`${rel(file)} → ${rel(target)}: layer not ranked`);
      else if (b >= a) out.push(`${rel(file)} → ${rel(target)}: ${from} may not import ${to}`);
    }
  }
  return out;
}

/** Strongly connected components of more than one node (or a self-loop): each is a cycle. */
function cycles(edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, indices.get(w) ?? 0));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges.get(v)?.has(v)) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!indices.has(v)) visit(v);
  return found;
}

function graph(
  files: string[],
  node: (file: string) => string,
  related: (a: string, b: string) => boolean = (a, b) => a === b,
): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const from = node(file);
    const set = edges.get(from) ?? new Set<string>();
    edges.set(from, set);
    for (const target of importsOf(file)) {
      const to = node(target);
      if (target.startsWith(ROOT) && !related(from, to)) set.add(to);
    }
  }
  return edges;
}

/** A folder, or a root module by its own name (root modules are layers of their own). */
const folderOf = (file: string) => (path.dirname(file) === ROOT ? layerOf(file) : rel(path.dirname(file)));
/** A folder and its sub-folders are one unit: a folder's facade may import its parts, which use their parent. */
const nested = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

describe("dependency direction", () => {
  const files = sourceFiles(ROOT);

  it("finds the source files", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.endsWith(path.join("engine", "definition.ts")))).toBe(true);
  });

  it("ranks every layer under functions/", () => {
    const unranked = [...new Set(files.map(layerOf))].filter((l) => !(l in LAYERS) && l !== "types");
    expect(unranked).toEqual([]);
  });

  it("imports only downwards", () => {
    expect(directionViolations(files)).toEqual([]);
  });

  it("engine imports nothing of ours outside engine", () => {
    const out = files
      .filter((f) => layerOf(f) === "engine")
      .flatMap((f) => importsOf(f).filter((t) => t.startsWith(ROOT) && layerOf(t) !== "engine"));
    expect(out.map(rel)).toEqual([]);
  });

  it("keeps the dev-only code out of what the Lambda handlers load", () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const target of importsOf(file)) if (files.includes(target)) visit(target);
    };
    for (const file of files.filter((f) => layerOf(f) === "handlers")) visit(file);
    const devOnly = [...seen].filter((f) => ["dev", "dev-environment", "local"].includes(layerOf(f)));
    expect(seen.size).toBeGreaterThan(10);
    expect(devOnly.map(rel)).toEqual([]);
  });

  it("has no import cycles between files", () => {
    expect(cycles(graph(files, (f) => f.replace(SOURCE, ""))).map((c) => c.map(rel))).toEqual([]);
  });

  it("has no import cycles between folders", () => {
    expect(cycles(graph(files, folderOf, nested))).toEqual([]);
  });

  it("would catch a violation", () => {
    const fake = path.join(ROOT, "engine", "fake.ts");
    const edges = new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["a"])],
      ["c", new Set<string>()],
    ]);
    expect(cycles(edges)).toEqual([["a", "b"]]);
    expect(LAYERS[layerOf(fake)]).toBe(0);
  });
});
