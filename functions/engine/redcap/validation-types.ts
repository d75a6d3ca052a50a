import type { FieldSchema } from "../definition.ts";

/**
 * REDCap text validation types and what each becomes in a field schema. Six
 * are "canonical": type and format alone name them, so an exported field with
 * that type and format gets that validation back. Every other one is kept
 * verbatim in `x-text-validation` next to the closest type, format or pattern.
 */

export interface ValidationType {
  type: "string" | "number" | "integer";
  format?: "date" | "time" | "date-time" | "local-date-time" | "email";
  pattern?: string;
  /** Min/max use a comma as decimal separator. */
  comma?: boolean;
  /** What REDCap checks that the engine does not, for the import report. */
  notEnforced?: string;
}

const NUMBER_DP = (dp: number, comma: boolean): ValidationType => ({
  type: "number",
  ...(comma ? { comma } : {}),
  // The decimal comma itself is kept (x-decimal-comma): only a fixed number of places is not enforced.
  ...(dp === 0
    ? {}
    : {
        notEnforced: `REDCap requires exactly ${dp} decimal place${dp === 1 ? "" : "s"}; the engine stores any number`,
      }),
});

const NOT_CHECKED = (what: string): ValidationType => ({
  type: "string",
  notEnforced: `REDCap checks the value is ${what}; the engine keeps the validation name but does not check it`,
});

/** REDCap date-times are wall-clock times without a zone: the engine's local date-time. */
const DATETIME: ValidationType = { type: "string", format: "local-date-time" };
const DATETIME_SECONDS: ValidationType = {
  ...DATETIME,
  notEnforced: "REDCap requires the seconds; the engine also accepts a time without them",
};

export const VALIDATION_TYPES: Record<string, ValidationType> = {
  date_ymd: { type: "string", format: "date" },
  date_mdy: { type: "string", format: "date" },
  date_dmy: { type: "string", format: "date" },
  datetime_ymd: DATETIME,
  datetime_mdy: DATETIME,
  datetime_dmy: DATETIME,
  datetime_seconds_ymd: DATETIME_SECONDS,
  datetime_seconds_mdy: DATETIME_SECONDS,
  datetime_seconds_dmy: DATETIME_SECONDS,
  time: { type: "string", format: "time" },
  time_hh_mm_ss: { type: "string", format: "time" },
  time_mm_ss: { type: "string", pattern: "^[0-5][0-9]:[0-5][0-9]$" },
  integer: { type: "integer" },
  number: { type: "number" },
  number_1dp: NUMBER_DP(1, false),
  number_2dp: NUMBER_DP(2, false),
  number_3dp: NUMBER_DP(3, false),
  number_4dp: NUMBER_DP(4, false),
  number_comma_decimal: NUMBER_DP(0, true),
  number_1dp_comma_decimal: NUMBER_DP(1, true),
  number_2dp_comma_decimal: NUMBER_DP(2, true),
  number_3dp_comma_decimal: NUMBER_DP(3, true),
  number_4dp_comma_decimal: NUMBER_DP(4, true),
  email: { type: "string", format: "email" },
  alpha_only: { type: "string", pattern: "^[A-Za-z]+$" },
  zipcode: { type: "string", pattern: "^[0-9]{5}(-[0-9]{4})?$" },
  ssn: { type: "string", pattern: "^[0-9]{3}-[0-9]{2}-[0-9]{4}$" },
  mrn_10d: { type: "string", pattern: "^[0-9]{10}$" },
  phone: NOT_CHECKED("a North American phone number"),
  phone_australia: NOT_CHECKED("an Australian phone number"),
  phone_uk: NOT_CHECKED("a UK phone number"),
  postalcode_australia: NOT_CHECKED("an Australian postal code"),
  postalcode_canada: NOT_CHECKED("a Canadian postal code"),
  postalcode_french: NOT_CHECKED("a French postal code"),
  postalcode_germany: NOT_CHECKED("a German postal code"),
  mrn_generic: NOT_CHECKED("a medical record number"),
  vmrn: NOT_CHECKED("a Vanderbilt medical record number"),
};

/** Validation types whose type and format say everything: no `x-text-validation` needed. */
const CANONICAL: Record<string, string> = {
  integer: "integer",
  number: "number",
  "string/date": "date_ymd",
  "string/date-time": "datetime_seconds_ymd",
  "string/local-date-time": "datetime_ymd",
  "string/time": "time",
  "string/email": "email",
};

/** Whether the type and format a validation becomes give that validation back on export. */
function isCanonical(name: string): boolean {
  const v = VALIDATION_TYPES[name];
  if (!v) return false;
  return CANONICAL[v.type === "string" ? `string/${v.format ?? ""}` : v.type] === name;
}

/** The schema keywords a REDCap validation type stands for. */
export function validationSchema(name: string): Partial<FieldSchema> {
  const v = VALIDATION_TYPES[name];
  if (!v) return { type: "string", "x-text-validation": name };
  return {
    type: v.type,
    ...(v.format ? { format: v.format } : {}),
    ...(v.pattern ? { pattern: v.pattern } : {}),
    ...(v.comma ? { "x-decimal-comma": true } : {}),
    ...(isCanonical(name) ? {} : { "x-text-validation": name }),
  };
}

/** Whether REDCap writes the field's numbers with a decimal comma (`number_comma_decimal`, `number_1dp_comma_decimal`…). */
export function isCommaDecimal(schema: FieldSchema): boolean {
  if (schema.type !== "number" && schema.type !== "integer") return false;
  return schema["x-decimal-comma"] === true || VALIDATION_TYPES[validationOf(schema)]?.comma === true;
}

/** The REDCap validation type for a text field ("" for none). */
export function validationOf(schema: FieldSchema): string {
  const kept = schema["x-text-validation"];
  if (kept !== undefined) {
    const v = VALIDATION_TYPES[kept];
    // A definition imported before local date-times existed has its REDCap date-times as zoned ones.
    const format = schema.format === "date-time" ? "local-date-time" : schema.format;
    const fits = !v || (v.type === schema.type && v.format === format);
    if (fits) return kept;
  }
  if (schema["x-decimal-comma"] === true && schema.type === "number") return "number_comma_decimal";
  const key = schema.type === "string" ? `string/${schema.format ?? ""}` : (schema.type ?? "");
  return CANONICAL[key] ?? "";
}
