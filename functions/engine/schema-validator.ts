import type { Instrument } from "./definition.ts";
import { loadValidator, validatorCode } from "./validator-code.ts";
import type { SchemaValidator } from "./validator-runtime.ts";

/**
 * The instrument's precompiled schema checks, on the server: the generated
 * code served to the form page, loaded here. The form script is built with
 * web/client/schema-validator.ts in this module's place (it takes the code the
 * page loaded as its own asset).
 */
export function schemaValidator(instrument: Instrument): SchemaValidator {
  return loadValidator(validatorCode(instrument));
}
