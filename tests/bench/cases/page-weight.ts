import { rmSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { loadDefinition } from "../../../functions/definition-files.ts";
import { bundleBrowserScripts } from "../../../functions/web/client/bundle.ts";
import { validatorAsset } from "../../../functions/web/validator-assets.ts";
import { checkoutAt, ROOT } from "../checkout-at.ts";

/** Issue 15's starting point: the form script as it was bundled then (ajv compiling in the browser). */
const BEFORE = "b3db3c7";
/** Issue 15's second pass: the builder's editor script still compiled the meta-schemas with ajv then. */
const BEFORE_EDITOR = "d56b89b";

/** A browser script of the engine at `ref`, bundled as it was then (no plugin then touched these entries). */
async function scriptAt(ref: string, entry: string): Promise<string> {
  const dir = checkoutAt(ref);
  try {
    const old = await build({
      entryPoints: [path.join(dir, "functions/web/client", entry)],
      bundle: true,
      minify: true,
      format: "iife",
      target: ["es2020"],
      platform: "browser",
      write: false,
      legalComments: "none",
    });
    return old.outputFiles[0]?.text ?? "";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Page weight in bytes (sizes, not timings): each browser script raw and
 * gzipped (zlib's default level, as `compress()` sends it), and each
 * precompiled instrument validator of the reference study as the form page
 * loads it. A form page loads its validator, RE2 only if the validator has
 * patterns, and the form script. `before.*`: the form script at BEFORE, the
 * builder's editor script at BEFORE_EDITOR.
 */
export async function sizes(
  options: { before?: boolean } = { before: true },
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const weigh = (name: string, body: string) => {
    out[`${name}.raw`] = Buffer.byteLength(body);
    out[`${name}.gzip`] = gzipSync(body).length;
  };
  for (const [name, { body }] of Object.entries(await bundleBrowserScripts())) weigh(`script.${name}`, body);
  if (options.before) {
    weigh("before.script.form", await scriptAt(BEFORE, "form.ts"));
    weigh("before.script.builder", await scriptAt(BEFORE_EDITOR, "builder.ts"));
  }
  const definition = await loadDefinition(path.join(ROOT, "forms"));
  for (const instrument of Object.values(definition.instruments))
    weigh(`validator.${instrument.$id}`, validatorAsset(instrument).body);
  return out;
}
