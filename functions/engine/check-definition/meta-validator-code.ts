import { Ajv2020 } from "ajv/dist/2020.js";
import standaloneCode from "ajv/dist/standalone/index.js";
import { META_AJV_OPTIONS, META_SCHEMAS } from "./meta-validators.ts";

/**
 * The meta-schema checks as ajv standalone code (CommonJS module bodies, run
 * by validator-runtime.ts's `instantiateValidator`), generated when the
 * browser scripts are built: the builder's editor ships them as plain code
 * instead of compiling the meta-schemas with `new Function`. Same options as
 * the server's compile; no formats are registered, so a meta-schema that
 * starts using one fails the build (strict) rather than going unchecked.
 */
export function metaValidatorCode(): Record<keyof typeof META_SCHEMAS, string> {
  const ajv = new Ajv2020({ ...META_AJV_OPTIONS, code: { source: true, esm: false, lines: false } });
  return {
    study: standaloneCode.default(ajv, ajv.compile(META_SCHEMAS.study)),
    instrument: standaloneCode.default(ajv, ajv.compile(META_SCHEMAS.instrument)),
  };
}
