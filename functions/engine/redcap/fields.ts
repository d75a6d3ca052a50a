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
  /** The checkbox options' titles, in the order of `codes`: what `[cb:checked]` lists. */
  titles?: readonly string[];
  /** The instrument that holds the field. */
  form?: string;
  /**
   * The engine's name for the field when it differs from the REDCap variable
   * name (the key): REDCap names are unique across a project, the engine's
   * only within an instrument.
   */
  name?: string;
}

/** Fields by REDCap variable name. */
export type LogicFields = Record<string, LogicField>;

/** The REDCap variable name and field for the engine's field `name` on instrument `form`. */
export function findField(
  fields: LogicFields,
  form: string | undefined,
  name: string,
): [string, LogicField] | undefined {
  for (const [key, field] of Object.entries(fields)) {
    if (
      (field.name ?? key) === name &&
      (form === undefined || field.form === undefined || field.form === form)
    ) {
      return [key, field];
    }
  }
  return undefined;
}

/**
 * REDCap variable names for every field: a name already taken by an earlier
 * instrument (or by the record id) becomes `<form>_<name>` (then `_2`, `_3` …).
 */
export function redcapNames(
  instruments: Record<string, Instrument>,
  order: readonly string[],
  reserved: readonly string[] = [],
): Map<string, Map<string, string>> {
  const taken = new Set(reserved);
  const all = new Set(Object.values(instruments).flatMap((i) => Object.keys(i.properties)));
  const out = new Map<string, Map<string, string>>();
  for (const form of order) {
    const names = new Map<string, string>();
    for (const field of Object.keys(instruments[form]?.properties ?? {})) {
      let name = field;
      if (taken.has(name)) {
        name = `${form}_${field}`;
        for (let k = 2; taken.has(name) || all.has(name); k++) name = `${form}_${field}_${k}`;
      }
      taken.add(name);
      names.set(field, name);
    }
    out.set(form, names);
  }
  return out;
}

export function logicFieldOf(schema: FieldSchema, form?: string): LogicField {
  const at = form === undefined ? {} : { form };
  if (schema.type === "array") {
    const options = schema.items?.oneOf ?? [];
    return {
      kind: "checkbox",
      codes: options.map((c) => c.const),
      titles: options.map((c) => c.title),
      ...at,
    };
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

/** Every field of every instrument, by REDCap variable name (see `redcapNames`). */
export function logicFields(
  instruments: Record<string, Instrument>,
  names: Map<string, Map<string, string>> = redcapNames(instruments, Object.keys(instruments)),
): LogicFields {
  const out: LogicFields = {};
  for (const [form, instrument] of Object.entries(instruments)) {
    for (const [name, schema] of Object.entries(instrument.properties)) {
      const key = names.get(form)?.get(name) ?? name;
      out[key] = { ...logicFieldOf(schema, form), ...(key !== name ? { name } : {}) };
    }
  }
  return out;
}
