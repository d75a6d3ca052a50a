import { createHash } from "node:crypto";
import path from "node:path";
import { build, type Plugin } from "esbuild";

/** The browser scripts, each served at its content-hashed `path`. */
export const ENTRIES = { form: "form.ts", builder: "builder.ts", pattern: "pattern.ts" } as const;
export type ScriptName = keyof typeof ENTRIES;

const here = import.meta.dirname;

// The page takes each instrument's precompiled checks as an asset instead of compiling schemas (engine/schema-validator.ts).
const precompiledValidators: Plugin = {
  name: "precompiled-validators",
  setup(b) {
    b.onResolve({ filter: /^\.\/schema-validator\.ts$/ }, (args) =>
      args.importer.endsWith(path.join("engine", "validate-form.ts"))
        ? { path: path.join(here, "schema-validator.ts") }
        : undefined,
    );
  },
};

/** Bundles the browser scripts (the engine included), minified, in memory. */
export async function bundleBrowserScripts(): Promise<Record<ScriptName, { path: string; body: string }>> {
  const scripts = {} as Record<ScriptName, { path: string; body: string }>;
  for (const [name, file] of Object.entries(ENTRIES) as [ScriptName, string][]) {
    const result = await build({
      entryPoints: [path.join(here, file)],
      bundle: true,
      minify: true,
      format: "iife",
      target: ["es2020"],
      platform: "browser",
      write: false,
      legalComments: "none",
      plugins: [precompiledValidators],
    });
    const body = result.outputFiles[0]?.text ?? "";
    const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
    scripts[name] = { path: `/assets/${name}.${hash}.js`, body };
  }
  return scripts;
}
