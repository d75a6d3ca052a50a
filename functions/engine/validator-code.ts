import { _, Ajv2020 } from "ajv/dist/2020.js";
import standaloneCode from "ajv/dist/standalone/index.js";
import addFormats from "ajv-formats";
import type { Instrument } from "./definition.ts";
import { ENGINE_KEYWORDS } from "./meta/instrument-schema.ts";
import { linearRegExp } from "./pattern.ts";
import { FORMATS, FORMATS_MODULE, PATTERN_MODULE, type SchemaValidator } from "./validator-runtime.ts";

/**
 * An instrument's JSON Schema checks as ajv standalone code, generated from
 * the definition at publish (a protocol change needs no code change) and
 * stored with it (store/validator-items.ts). The server runs this very code
 * (schema-validator.ts) and serves it to the form page, so the browser and the
 * server check with the same function. Only publishing (and the CLI, tests)
 * loads this module: ajv is not part of what a save runs.
 */

function createAjv() {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    // A field named like an object member (`constructor`) is absent unless the data has it as its own.
    ownProperties: true,
    code: {
      source: true,
      esm: false,
      lines: false,
      // Builder patterns run on RE2 (linear time), never on the backtracking RegExp engine.
      regExp: Object.assign((source: string, flags: string) => linearRegExp(source, flags), {
        code: `require(${JSON.stringify(PATTERN_MODULE)})`,
      }),
      formats: _`require(${FORMATS_MODULE})`,
    },
  });
  for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, format);
  ajv.addVocabulary([...ENGINE_KEYWORDS]);
  return ajv;
}

let ajv: ReturnType<typeof createAjv> | undefined;

const codes = new WeakMap<Instrument, string>();

/** The schema checked: the instrument without `required` (status and branching decide that) and without `$id`. */
export function checkedSchema(instrument: Instrument): object {
  const { required: _required, $id: _id, ...rest } = instrument;
  return rest;
}

/** The validator's code: a CommonJS module body (see validator-runtime.ts for what it requires). */
export function validatorCode(instrument: Instrument): string {
  const cached = codes.get(instrument);
  if (cached !== undefined) return cached;
  ajv ??= createAjv();
  const schema = checkedSchema(instrument);
  const code = standaloneCode.default(ajv, ajv.compile(schema));
  // Each instrument is compiled once; dropping it keeps the compiler from holding every schema it saw.
  ajv.removeSchema(schema);
  codes.set(instrument, code);
  return code;
}

let reference: Ajv2020 | undefined;

/**
 * The checks as the engine compiled them before they were precompiled (ajv
 * compiling in process, ajv-formats' formats): only for the parity test,
 * which holds the generated code to the same answers.
 */
export function referenceValidator(instrument: Instrument): SchemaValidator {
  if (!reference) {
    reference = new Ajv2020({
      allErrors: true,
      strict: true,
      allowUnionTypes: true,
      ownProperties: true,
      code: { regExp: linearRegExp },
    });
    addFormats.default(reference, ["date", "date-time", "email"]);
    reference.addFormat("time", FORMATS.time);
    reference.addFormat("local-date-time", FORMATS["local-date-time"]);
    reference.addVocabulary([...ENGINE_KEYWORDS]);
  }
  return reference.compile(checkedSchema(instrument)) as unknown as SchemaValidator;
}
