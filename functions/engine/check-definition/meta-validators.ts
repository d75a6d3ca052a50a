import { Ajv2020, type ErrorObject, type Options } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { instrumentSchema } from "../meta/instrument-schema.ts";
import { studySchema } from "../meta/study-schema.ts";

/**
 * The meta-schema checks, compiled by ajv in process (server and CLI). The
 * builder's editor runs the same checks precompiled at build time
 * (web/client/meta-validators.ts swaps this module out), so the browser
 * compiles nothing and its CSP needs no 'unsafe-eval'.
 */

/** ajv's options for the meta-schemas; `verbose` puts the schema on each error, which the messages name. */
export const META_AJV_OPTIONS = {
  allErrors: true,
  strict: true,
  allowUnionTypes: true,
  verbose: true,
} as const satisfies Options;

export const META_SCHEMAS = { study: studySchema, instrument: instrumentSchema } as const;

export type MetaValidator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

export interface MetaValidators {
  study: MetaValidator;
  instrument: MetaValidator;
}

let validators: MetaValidators | undefined;

export function metaValidators(): MetaValidators {
  if (validators) return validators;
  const ajv = new Ajv2020(META_AJV_OPTIONS);
  addFormats.default(ajv);
  validators = { study: ajv.compile(META_SCHEMAS.study), instrument: ajv.compile(META_SCHEMAS.instrument) };
  return validators;
}
