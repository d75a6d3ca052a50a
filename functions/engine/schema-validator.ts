import type { Instrument, StudyDefinition } from "./definition.ts";
import {
  instantiateValidator,
  PATTERN_MODULE,
  type PatternCompiler,
  type SchemaValidator,
  type ValidatorModule,
} from "./validator-runtime.ts";

/**
 * The instrument's precompiled schema checks, on the server. The code is
 * generated once, at publish (store/validator-items.ts keeps it beside the
 * definition), and attached to the instrument when the definition is read; the
 * same code is served to the form page. So a process that only reads and
 * saves never loads the generator (ajv) nor, unless a form has a pattern, RE2:
 * both are reached through dynamic imports only (`prepareValidators`). The
 * form script is built with web/client/schema-validator.ts in this module's place.
 */

const attached = new WeakMap<Instrument, string>();

/** Set where the generator is loaded anyway (the tests): code made on first use instead of a prepared definition. */
let generateInProcess: ((instrument: Instrument) => string) | undefined;
let patternEngine: PatternCompiler | undefined;

/** Binds the instrument to its generated code (stored at publish and checked against the definition's hash, or just generated). */
export function attachValidatorCode(instrument: Instrument, code: string): void {
  attached.set(instrument, code);
}

/** For processes that load the generator anyway (tests): instruments built in memory get their code on first use. */
export function generateValidatorsInProcess(
  generate: (instrument: Instrument) => string,
  pattern: PatternCompiler,
): void {
  generateInProcess = generate;
  patternEngine ??= pattern;
}

export function usesPatterns(code: string): boolean {
  return code.includes(`require(${JSON.stringify(PATTERN_MODULE)})`);
}

/** The instrument's validator code: a CommonJS module body (see validator-runtime.ts for what it requires). */
export function validatorSource(instrument: Instrument): string {
  let code = attached.get(instrument);
  if (code === undefined && generateInProcess) {
    code = generateInProcess(instrument);
    attached.set(instrument, code);
  }
  if (code === undefined)
    throw new Error(
      `instrument ${instrument.$id} has no validator code: definitions are read through prepareValidators`,
    );
  return code;
}

/**
 * Gives every instrument of the definition its code (generating what is
 * missing: a definition published before validators were stored, or one
 * being published) and loads RE2 if any of it runs builder patterns.
 */
export async function prepareValidators(definition: StudyDefinition): Promise<void> {
  const instruments = Object.values(definition.instruments);
  const missing = instruments.filter((i) => !attached.has(i));
  if (missing.length > 0) {
    const generate = generateInProcess ?? (await import("./validator-code.ts")).validatorCode;
    for (const instrument of missing) attached.set(instrument, generate(instrument));
  }
  if (!patternEngine && instruments.some((i) => usesPatterns(validatorSource(i)))) {
    const { linearRegExp } = await import("./pattern.ts");
    patternEngine = linearRegExp;
  }
}

// A pattern reached without RE2 loaded is a definition that skipped prepareValidators: fail loudly, never pass.
const noPatternEngine: PatternCompiler = () => {
  throw new Error("a validator uses a pattern but RE2 was not loaded (prepareValidators)");
};

/** Loads generated code on the server (no CSP there). */
export function loadValidator(code: string, pattern: PatternCompiler = patternEngine ?? noPatternEngine) {
  const factory = new Function("require", "module", "exports", code) as ValidatorModule;
  return instantiateValidator(factory, pattern);
}

/** validate-form.ts keeps what this returns, once per instrument. */
export function schemaValidator(instrument: Instrument): SchemaValidator {
  return loadValidator(validatorSource(instrument));
}
