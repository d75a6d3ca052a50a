import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/**
 * What a split Lambda bundle (infra/split-bundling.ts) loads: `index.mjs` and
 * the chunks its static imports reach (what a cold start parses), apart from
 * those only an `import()` reaches (loaded by the first request that needs them).
 */

// Minified esbuild output: `import{a as b}from"./chunks/x.mjs"` or `import"./chunks/x.mjs"`; `import(` is dynamic.
const STATIC_IMPORT =
  /(?:^|[;{}\s])import\s*(?:[\w$]+\s*,?\s*)?(?:\*\s*as\s*[\w$]+|\{[^}]*\})?\s*(?:from\s*)?["'](\.{1,2}\/[^"']+)["']/g;

function staticImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(STATIC_IMPORT)].map((m) => path.resolve(path.dirname(file), m[1] as string));
}

/** Every .mjs file of the bundle. */
export function bundleFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".mjs")) files.push(path.join(entry.parentPath, entry.name));
  }
  return files;
}

/** `index.mjs` and every chunk reached from it by static imports. */
export function initLoadedFiles(dir: string): string[] {
  const seen = new Set<string>();
  const next = [path.join(dir, "index.mjs")];
  while (next.length > 0) {
    const file = next.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    next.push(...staticImports(file));
  }
  return [...seen];
}

const bytes = (files: string[]) => files.reduce((sum, f) => sum + statSync(f).size, 0);

/** Bytes a cold start loads, and bytes of the whole bundle (source maps excluded). */
export function bundleBytes(dir: string): { initLoaded: number; total: number; files: number } {
  const all = bundleFiles(dir);
  return { initLoaded: bytes(initLoadedFiles(dir)), total: bytes(all), files: all.length };
}

/** The sources of every chunk's source map: what went into the bundle, wherever it landed. */
export function bundleSources(dir: string): string[] {
  return bundleFiles(dir).flatMap((file) => {
    const map = JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[] };
    return map.sources;
  });
}
