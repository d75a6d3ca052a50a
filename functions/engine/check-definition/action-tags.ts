import type { FieldSchema } from "../definition.ts";
import { join } from "./pointers.ts";
import type { Reporter } from "./types.ts";

/** The annotations REDCap's action tags map onto (engine/action-tags.ts): values that fit the field. */

const CLOCK_WORDS = new Set(["today", "now"]);

function fitsScalar(field: FieldSchema, value: unknown): string | undefined {
  const choices = field.oneOf?.map((c) => c.const) ?? field.enum;
  if (choices && !choices.includes(value as string | number))
    return `${JSON.stringify(value)} is not one of the field's choice codes`;
  switch (field.type) {
    case "boolean":
      return typeof value === "boolean" ? undefined : "a yes/no field opens with true or false";
    case "integer":
      return Number.isInteger(value) ? undefined : "a whole-number field opens with a whole number";
    case "number":
      return typeof value === "number" ? undefined : "a number field opens with a number";
    case "string":
      if (typeof value !== "string") return "a text field opens with text";
      if (CLOCK_WORDS.has(value)) return undefined;
      if (field.format === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(value))
        return `a date field opens with "today", "now" or a date YYYY-MM-DD`;
      if (field.format === "time" && !/^\d{2}:\d{2}(:\d{2})?$/.test(value))
        return `a time field opens with "now" or a time HH:MM`;
      return undefined;
    default:
      return `a field of type ${field.type} opens with no value`;
  }
}

function presetProblem(field: FieldSchema, value: unknown): string | undefined {
  if (field["x-calc"] !== undefined) return "a calculated field's value is computed: it has no default";
  if (field.type === "array") {
    const codes = field.items?.oneOf.map((c) => c.const) ?? [];
    if (!Array.isArray(value)) return "a multiple-choice field opens with a list of choice codes";
    const wrong = value.find((v) => !codes.includes(v));
    return wrong === undefined
      ? undefined
      : `${JSON.stringify(wrong)} is not one of the field's choice codes`;
  }
  if (CLOCK_WORDS.has(value as string) && field.type !== "string")
    return `"${value}" needs a text, date or time field`;
  return fitsScalar(field, value);
}

export function checkActionTags(field: FieldSchema, at: string, report: Reporter): void {
  for (const keyword of ["x-default", "x-set-value"] as const) {
    const value = field[keyword];
    if (value === undefined) continue;
    const problem = presetProblem(field, value);
    if (problem) report(join(at, keyword), problem);
  }
  const exclusive = field["x-none-of-the-above"];
  if (exclusive && field.type === "array") {
    const codes = field.items?.oneOf.map((c) => c.const) ?? [];
    exclusive.forEach((code, i) => {
      if (!codes.includes(code))
        report(
          join(at, "x-none-of-the-above", i),
          `${JSON.stringify(code)} is not one of the field's choice codes`,
        );
    });
  }
}
