import { createHash } from "node:crypto";
import path from "node:path";
import { build, type Plugin } from "esbuild";
import { metaValidatorCode } from "../../engine/check-definition/meta-validator-code.ts";

/** The browser scripts, each served at its content-hashed `path`. */
export const ENTRIES = {
  form: "form.ts",
  builder: "builder.ts",
  pattern: "pattern.ts",
  "export-jobs": "export-jobs.ts",
} as const;
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

// The builder's editor takes the meta-schema checks as code generated here instead of compiling them with ajv,
// and RE2 from the pattern script instead of bundling its own copy.
const PRECOMPILED_META = "edc:precompiled-meta-schemas";
const editorChecks: Plugin = {
  name: "editor-checks",
  setup(b) {
    b.onResolve({ filter: /^\.\/check-definition\/meta-validators\.ts$/ }, (args) =>
      args.importer.endsWith(path.join("engine", "check-definition.ts"))
        ? { path: path.join(here, "meta-validators.ts") }
        : undefined,
    );
    // RE2 comes from the pattern script, which the editor page loads first (client/definition-pattern.ts).
    b.onResolve({ filter: /^\.\.\/pattern\.ts$/ }, (args) =>
      path.dirname(args.importer).endsWith(path.join("engine", "check-definition"))
        ? { path: path.join(here, "definition-pattern.ts") }
        : undefined,
    );
    b.onResolve({ filter: new RegExp(`^${PRECOMPILED_META}$`) }, () => ({
      path: PRECOMPILED_META,
      namespace: "edc-generated",
    }));
    b.onLoad({ filter: /.*/, namespace: "edc-generated" }, () => ({
      contents: Object.entries(metaValidatorCode())
        .map(([name, code]) => `export const ${name} = function (require, module, exports) {${code}\n};\n`)
        .join(""),
      loader: "js",
      resolveDir: here,
    }));
  },
};

/** What turns engine modules into their browser versions; the parity tests bundle with them too. */
export const BROWSER_PLUGINS: Plugin[] = [precompiledValidators, editorChecks];

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
      plugins: BROWSER_PLUGINS,
    });
    const body = result.outputFiles[0]?.text ?? "";
    const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
    scripts[name] = { path: `/assets/${name}.${hash}.js`, body };
  }
  return scripts;
}
