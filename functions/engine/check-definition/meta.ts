import type { ErrorObject } from "ajv/dist/2020.js";
import type { MetaValidator } from "./meta-validators.ts";
import { join, lastSegment, suggest } from "./pointers.ts";
import type { DefinitionError, SourceFile } from "./types.ts";

/** Each file against its meta-schema, with ajv's errors said in a builder's words. */

function describeAjvError(e: ErrorObject): { pointer: string; message: string } {
  const subject = lastSegment(e.instancePath);
  const prefix = subject === undefined ? "" : `"${subject}" `;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties": {
      const prop = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema?.properties as object | undefined) ?? {});
      const where = subject === undefined ? "" : ` in "${subject}"`;
      return {
        pointer: join(e.instancePath, prop),
        message: `unknown property "${prop}"${where}${suggest(prop, allowed)}`,
      };
    }
    case "propertyNames": {
      const name = String(params.propertyName);
      return {
        pointer: join(e.instancePath, name),
        message: `invalid field name "${name}": use lowercase snake_case (${String((e.schema as { pattern?: string }).pattern ?? "")})`,
      };
    }
    case "required":
      return {
        pointer: e.instancePath,
        message: `missing required property "${String(params.missingProperty)}"`,
      };
    case "enum":
      return {
        pointer: e.instancePath,
        message: `${prefix}must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "const":
      return { pointer: e.instancePath, message: `${prefix}must be ${JSON.stringify(params.allowedValue)}` };
    case "type":
      return { pointer: e.instancePath, message: `${prefix}must be of type ${String(params.type)}` };
    case "pattern":
      return { pointer: e.instancePath, message: `${prefix}must match ${String(params.pattern)}` };
    default:
      return { pointer: e.instancePath, message: `${prefix}${e.message ?? "is invalid"} (${e.keyword})` };
  }
}

export function metaErrors(validate: MetaValidator, file: SourceFile): DefinitionError[] {
  if (validate(file.json)) return [];
  const out: DefinitionError[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // The pattern error behind a propertyNames error repeats it; keep the propertyNames one.
    if ((e as ErrorObject & { propertyName?: string }).propertyName !== undefined) continue;
    const { pointer, message } = describeAjvError(e);
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file: file.path, pointer, message });
  }
  return out;
}
