import * as equalModule from "ajv/dist/runtime/equal.js";
import * as ucs2lengthModule from "ajv/dist/runtime/ucs2length.js";
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

/**
 * The function a CommonJS module exports as `default`, however the bundler at
 * hand wrapped it: esbuild in a `"type": "module"` package hands the whole
 * `module.exports` over as the default import, vite's interop its `default`.
 */
function defaultFunction(namespace: unknown): unknown {
  let value = namespace;
  for (let depth = 0; depth < 3 && typeof value !== "function"; depth++)
    value = (value as { default?: unknown } | undefined)?.default;
  if (typeof value !== "function") throw new Error("a validator runtime module exports no function");
  return value;
}

const ucs2length = defaultFunction(ucs2lengthModule);
const equal = defaultFunction(equalModule);

export const TIME_FORMAT = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

// RFC 3339 dates and date-times as ajv-formats' "full" mode checks them (its ~8 KB module is not shipped to
// browsers for three formats); the parity test holds them to ajv-formats' answers.
const DATE = /^(\d\d\d\d)-(\d\d)-(\d\d)$/;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const RFC_TIME = /^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|([+-])(\d\d)(?::?(\d\d))?)?$/i;

function isDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && leap ? 29 : (DAYS[month] ?? 0));
}

function isZonedTime(text: string): boolean {
  const m = RFC_TIME.exec(text);
  if (!m) return false;
  const [hr, min, sec] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const sign = m[5] === "-" ? -1 : 1;
  const [tzH, tzM] = [Number(m[6] || 0), Number(m[7] || 0)];
  if (tzH > 23 || tzM > 59 || !m[4]) return false;
  if (hr <= 23 && min <= 59 && sec < 60) return true;
  // A leap second is 23:59:60 UTC only.
  const utcMin = min - tzM * sign;
  const utcHr = hr - tzH * sign - (utcMin < 0 ? 1 : 0);
  return (utcHr === 23 || utcHr === -1) && (utcMin === 59 || utcMin === -1) && sec < 61;
}

function isDateTime(text: string): boolean {
  const parts = text.split(/t|\s/i);
  return parts.length === 2 && isDate(parts[0] ?? "") && isZonedTime(parts[1] ?? "");
}

/** The formats instruments may use, by name: the generated code reads `require(FORMATS_MODULE)[name]`. */
export const FORMATS = {
  date: { validate: isDate },
  "date-time": { validate: isDateTime },
  email:
    /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i,
  time: TIME_FORMAT,
  "local-date-time": isLocalDateTime,
};

/**
 * What stored validator code is bound to besides its definition: the modules
 * `instantiateValidator` answers and the generator's options. Change either
 * and bump this; code stored under another format is generated again on read.
 */
export const VALIDATOR_FORMAT = 1;

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
