import { createHash } from "node:crypto";
import type { Instrument, StudyDefinition } from "../engine/definition.ts";
import { usesPatterns, validatorSource } from "../engine/schema-validator.ts";

/**
 * An instrument's precompiled checks as the form page loads them: the same
 * generated code, stored at publish, that the server validates saves with, wrapped so that loading it
 * only registers it (web/client/schema-validator.ts runs it); nothing is
 * compiled in the browser. Its URL names the definition version and the
 * content hash, so it is cached for good.
 */
export interface ValidatorAsset {
  body: string;
  hash: string;
  /** The checks run builder patterns: the page loads the RE2 script too. */
  patterns: boolean;
}

const assets = new WeakMap<Instrument, ValidatorAsset>();

export function validatorAsset(instrument: Instrument): ValidatorAsset {
  const cached = assets.get(instrument);
  if (cached) return cached;
  const code = validatorSource(instrument);
  const body = `(self.edcValidators||(self.edcValidators={}))[${JSON.stringify(instrument.$id)}]=function(require,module,exports){${code}\n};\n`;
  const asset = {
    body,
    hash: createHash("sha256").update(body).digest("hex").slice(0, 12),
    patterns: usesPatterns(code),
  };
  assets.set(instrument, asset);
  return asset;
}

export function validatorPath(definition: StudyDefinition, instrument: Instrument): string {
  const { hash } = validatorAsset(instrument);
  return `/studies/${encodeURIComponent(definition.study.id)}/validators/${definition.version}/${encodeURIComponent(instrument.$id)}.${hash}.js`;
}

/** The browser scripts of a form page, in the order they run: the checks (and RE2 if they need it), then the form script. */
export interface FormScripts {
  form: string;
  pattern: string;
}

export function formPageScripts(
  scripts: FormScripts,
  definition: StudyDefinition,
  instrument: Instrument,
): string[] {
  const { patterns } = validatorAsset(instrument);
  return [validatorPath(definition, instrument), ...(patterns ? [scripts.pattern] : []), scripts.form];
}
