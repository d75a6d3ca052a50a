import type { Instrument } from "../../functions/engine/definition.ts";
import { linearRegExp } from "../../functions/engine/pattern.ts";
import { generateValidatorsInProcess } from "../../functions/engine/schema-validator.ts";
import { checkedSchema, validatorCode } from "../../functions/engine/validator-code.ts";

// Tests build instruments in memory and validate them directly: the generator runs in process, as in the CLI.
// What the deployed API does (code read with the definition) is held by tests/integration/stored-validators.test.ts.
generateValidatorsInProcess(sameSchemaSameCode, linearRegExp);

/**
 * The code is a function of the checked schema alone, and nearly every test file publishes the same reference
 * study (each dev environment reads it afresh from forms/): generated once per worker instead of at every start.
 */
const generated = new Map<string, string>();
const KEPT = 500;

function sameSchemaSameCode(instrument: Instrument): string {
  const key = JSON.stringify(checkedSchema(instrument));
  let code = generated.get(key);
  if (code === undefined) {
    code = validatorCode(instrument);
    if (generated.size >= KEPT) generated.delete(generated.keys().next().value as string);
    generated.set(key, code);
  }
  return code;
}
