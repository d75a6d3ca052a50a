import path from "node:path";
import { gzipSync } from "node:zlib";
import { loadDefinition } from "../../../functions/definition-files.ts";
import { bundleBrowserScripts } from "../../../functions/web/client/bundle.ts";
import { validatorAsset } from "../../../functions/web/validator-assets.ts";
import { ROOT } from "../checkout-at.ts";

/**
 * Page weight in bytes (sizes, not timings): each browser script raw and
 * gzipped (zlib's default level, as `compress()` sends it), and each
 * precompiled instrument validator of the reference study as the form page
 * loads it. A form page loads its validator, RE2 only if the validator has
 * patterns, and the form script.
 */
export async function sizes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const weigh = (name: string, body: string) => {
    out[`${name}.raw`] = Buffer.byteLength(body);
    out[`${name}.gzip`] = gzipSync(body).length;
  };
  for (const [name, { body }] of Object.entries(await bundleBrowserScripts())) weigh(`script.${name}`, body);
  const definition = await loadDefinition(path.join(ROOT, "forms"));
  for (const instrument of Object.values(definition.instruments))
    weigh(`validator.${instrument.$id}`, validatorAsset(instrument).body);
  return out;
}
