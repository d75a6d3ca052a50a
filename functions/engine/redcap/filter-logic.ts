import type { FormData, Instrument, Logic } from "../definition.ts";
import { evaluate } from "../logic.ts";
import { type LogicFields, logicFields, redcapNames } from "./fields.ts";
import { toJsonLogic } from "./to-json-logic.ts";

/**
 * REDCap's `filterLogic` (export records): a REDCap expression that keeps a
 * row — one record × event (× repeat instance) — when it is true for that
 * row's data, as REDCap evaluates it. Field names are the data dictionary's
 * (`redcapNames`), so a name renamed there for uniqueness reads its own form.
 */

export interface FilterRow {
  recordId: string;
  /** REDCap's unique event name, what `[event-name]` reads. */
  eventName: string;
  /** The row's instances: each form's data. */
  forms: { form: string; data: FormData }[];
}

export type FilterLogic = { test: (row: FilterRow) => boolean } | { error: string };

export function compileFilterLogic(
  expression: string,
  instruments: Record<string, Instrument>,
  options: { formOrder: readonly string[]; recordIdField: string },
): FilterLogic {
  const names = redcapNames(instruments, options.formOrder, [options.recordIdField]);
  // Every field is read as `<form>.<field>` from data keyed by form: two forms may share an engine field name.
  const fields: LogicFields = { [options.recordIdField]: { kind: "text", name: "$record" } };
  for (const [key, field] of Object.entries(logicFields(instruments, names))) {
    fields[key] = { ...field, name: `${field.form}.${field.name ?? key}` };
  }
  const translated = toJsonLogic(expression, fields);
  if ("error" in translated) return { error: translated.error };
  const logic: Logic = translated.logic;
  return {
    test(row) {
      const data: Record<string, unknown> = { $record: row.recordId, $event: row.eventName };
      for (const { form, data: values } of row.forms) data[form] = values;
      try {
        return Boolean(evaluate(logic, data));
      } catch {
        // REDCap keeps no row whose logic cannot be evaluated.
        return false;
      }
    },
  };
}
