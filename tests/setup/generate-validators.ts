import { linearRegExp } from "../../functions/engine/pattern.ts";
import { generateValidatorsInProcess } from "../../functions/engine/schema-validator.ts";
import { validatorCode } from "../../functions/engine/validator-code.ts";

// Tests build instruments in memory and validate them directly: the generator runs in process, as in the CLI.
// What the deployed API does (code read with the definition) is held by tests/integration/stored-validators.test.ts.
generateValidatorsInProcess(validatorCode, linearRegExp);
