import equal from "ajv/dist/runtime/equal.js";
import ucs2length from "ajv/dist/runtime/ucs2length.js";
import { fullFormats } from "ajv-formats/dist/formats.js";
import { isLocalDateTime } from "./date-text.ts";

/**
 * What a precompiled instrument validator (ajv standalone code, see
 * validator-code.ts) needs at run time, shared by the server and the form
 * script: the code is a CommonJS module body whose `require` calls are
 * answered here, so neither side compiles a schema (no `new Function` in the
 * browser, hence no 'unsafe-eval' in the CSP).
 */

/** One problem as ajv reports it (the fields the engine reads). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

export type SchemaValidator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

/** The generated module, wrapped as a function (by `new Function` on the server, by the asset in the browser). */
export type ValidatorModule = (
  require: (name: string) => unknown,
  module: { exports: unknown },
  exports: unknown,
) => void;

/** A builder pattern compiled for `test` (RE2 on the server; the browser loads RE2 only where a form has patterns). */
export type PatternCompiler = (source: string, flags: string) => { test(value: string): boolean };

export const TIME_FORMAT = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

/** The formats instruments may use, by name: the generated code reads `require(FORMATS_MODULE)[name]`. */
export const FORMATS = {
  date: fullFormats.date,
  "date-time": fullFormats["date-time"],
  email: fullFormats.email,
  time: TIME_FORMAT,
  "local-date-time": isLocalDateTime,
};

export const FORMATS_MODULE = "edc:formats";
export const PATTERN_MODULE = "edc:pattern";

export function instantiateValidator(factory: ValidatorModule, pattern: PatternCompiler): SchemaValidator {
  const modules: Record<string, unknown> = {
    "ajv/dist/runtime/ucs2length": { default: ucs2length },
    "ajv/dist/runtime/equal": { default: equal },
    [FORMATS_MODULE]: FORMATS,
    [PATTERN_MODULE]: pattern,
  };
  const require = (name: string) => {
    if (!(name in modules)) throw new Error(`a precompiled validator asked for an unknown module ${name}`);
    return modules[name];
  };
  const module: { exports: unknown } = { exports: {} };
  factory(require, module, module.exports);
  return module.exports as SchemaValidator;
}
