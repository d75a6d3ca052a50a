import { instrument, study } from "edc:precompiled-meta-schemas";
import type { MetaValidator, MetaValidators } from "../../engine/check-definition/meta-validators.ts";
import { instantiateValidator } from "../../engine/validator-runtime.ts";

/**
 * The browser's stand-in for engine/check-definition/meta-validators.ts
 * (bundle.ts swaps it in for the builder's editor): the meta-schema checks
 * precompiled at build time, so the page needs no ajv and no eval.
 */

// The meta-schemas' patterns are the engine's own (field names, slugs), not a builder's: the native engine is safe.
const nativePattern = (source: string, flags: string) => new RegExp(source, flags);

let validators: MetaValidators | undefined;

export function metaValidators(): MetaValidators {
  // verbose code: its errors carry `schema` and `parentSchema`, as ajv's compiled ones do.
  validators ??= {
    study: instantiateValidator(study, nativePattern) as unknown as MetaValidator,
    instrument: instantiateValidator(instrument, nativePattern) as unknown as MetaValidator,
  };
  return validators;
}
