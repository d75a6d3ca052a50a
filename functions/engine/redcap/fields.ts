import type { ChoiceCode, FieldSchema, Instrument } from "../definition.ts";

/**
 * What the logic translators need to know about a field: how its value is
 * held in the engine's form data, which decides how a REDCap comparison is
 * written in JSON Logic (and back).
 */
export type FieldKind =
  /** number | integer (calculated fields and sliders too): a number, or empty. */
  | "number"
  /** yesno / truefalse: true or false, or empty; REDCap writes '1' / '0'. */
  | "boolean"
  /** Free text: a string that may look like a number. */
  | "text"
  /** Dates, times, date-times, e-mail addresses: strings that never look like numbers. */
  | "date"
  /** Radio / dropdown: one of `codes`, or empty. */
  | "choice"
  /** Checkboxes: a list of checked `codes`; REDCap reads one option as `[field(code)]` ('1' / '0'). */
  | "checkbox"
  /** Display-only: never holds a value. */
  | "none";

export interface LogicField {
  kind: FieldKind;
  /** Choice codes, typed as stored (choice and checkbox only). */
  codes?: readonly ChoiceCode[];
  /** The instrument that holds the field. */
  form?: string;
}

export type LogicFields = Record<string, LogicField>;

export function logicFieldOf(schema: FieldSchema, form?: string): LogicField {
  const at = form === undefined ? {} : { form };
  if (schema.type === "array") {
    return { kind: "checkbox", codes: (schema.items?.oneOf ?? []).map((c) => c.const), ...at };
  }
  if (schema.oneOf || schema.enum) {
    const codes = schema.oneOf ? schema.oneOf.map((c) => c.const) : (schema.enum ?? []);
    return { kind: "choice", codes, ...at };
  }
  switch (schema.type) {
    case "boolean":
      return { kind: "boolean", ...at };
    case "number":
    case "integer":
      return { kind: "number", ...at };
    case "null":
      return { kind: "none", ...at };
    default:
      return { kind: schema.format !== undefined ? "date" : "text", ...at };
  }
}

/** Every field of every instrument, by field name (REDCap field names are unique across a project). */
export function logicFields(instruments: Record<string, Instrument>): LogicFields {
  const out: LogicFields = {};
  for (const [form, instrument] of Object.entries(instruments)) {
    for (const [name, schema] of Object.entries(instrument.properties)) {
      out[name] ??= logicFieldOf(schema, form);
    }
  }
  return out;
}
