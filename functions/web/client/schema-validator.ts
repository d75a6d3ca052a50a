import type { Instrument } from "../../engine/definition.ts";
import type { PatternCompiler, SchemaValidator, ValidatorModule } from "../../engine/validator-runtime.ts";
import { instantiateValidator } from "../../engine/validator-runtime.ts";

/**
 * The browser's stand-in for engine/schema-validator.ts (build.ts swaps it
 * in): the instrument's precompiled checks come as their own asset, which
 * registers the generated module under the instrument's id, so the page
 * compiles nothing. The RE2 engine for builder patterns is a further asset,
 * loaded only by forms that have patterns.
 */
declare global {
  var edcValidators: Record<string, ValidatorModule> | undefined;
  var edcPattern: PatternCompiler | undefined;
}

// Without the assets (blocked, or a page that predates them) nothing is refused live: the save still is.
const passes: SchemaValidator = Object.assign(() => true, { errors: null });
const anyText = { test: () => true };
const pattern: PatternCompiler = (source, flags) => globalThis.edcPattern?.(source, flags) ?? anyText;

export function schemaValidator(instrument: Instrument): SchemaValidator {
  const factory = globalThis.edcValidators?.[instrument.$id];
  return factory ? instantiateValidator(factory, pattern) : passes;
}
