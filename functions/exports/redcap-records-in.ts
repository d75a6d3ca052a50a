import { parse } from "csv-parse/sync";
import { parseLocalDateTimeText } from "../engine/date-text.ts";
import {
  type FieldSchema,
  FORM_STATUS_CODE,
  type FormData,
  type FormStatus,
  LOGS_EVENT,
  type StudyDefinition,
} from "../engine/definition.ts";
import { isFileField } from "../engine/file-fields.ts";
import { isCommaDecimal } from "../engine/redcap/validation-types.ts";
import { eventFormsFor } from "../engine/slots.ts";
import { exportNames, isLongitudinal, RECORD_ID, repeatInstrumentOf, uniqueEventName } from "./flat.ts";

/**
 * REDCap's flat records read back (the reverse of `flatRows`): each row's
 * strings become one form instance per form with a value, typed by the
 * field's schema. Pure: nothing is read or saved here; every value that
 * cannot be read is listed, by record, event and field.
 */

export type DateFormat = "YMD" | "MDY" | "DMY";

export interface ImportedInstance {
  record: string;
  /** REDCap's unique event name, as given. */
  eventName: string;
  arm: string;
  event: string;
  form: string;
  instance: number;
  /** The values given (blank cells are in `blanks`). */
  values: FormData;
  /** Fields whose column(s) were sent blank: erased only when the import overwrites. */
  blanks: string[];
  /** Whether any cell of the form was given (not blank). */
  given: boolean;
  /** From `<form>_complete`, when given. */
  status?: FormStatus;
  /** `redcap_data_access_group`, when given: the site of a record to enrol. */
  site?: string;
}

export interface RefusedValue {
  record: string;
  event: string;
  field: string;
  value: string;
  message: string;
}

type Target =
  | { kind: "field"; form: string; field: string; schema: FieldSchema }
  | { kind: "choice"; form: string; field: string; code: string | number }
  | { kind: "complete"; form: string }
  /** A file field: REDCap's records carry its name, not its bytes; files come through `content=file`. */
  | { kind: "file"; form: string };

const FIXED = new Set([
  RECORD_ID,
  "redcap_event_name",
  "redcap_repeat_instrument",
  "redcap_repeat_instance",
  "redcap_data_access_group",
]);

const STATUS_BY_CODE = new Map(
  Object.entries(FORM_STATUS_CODE).map(([status, code]) => [String(code), status as FormStatus]),
);

function targets(definition: StudyDefinition): Map<string, Target> {
  const map = new Map<string, Target>();
  for (const [form, names] of exportNames(definition)) {
    const instrument = definition.instruments[form];
    if (!instrument) continue;
    for (const [field, schema] of Object.entries(instrument.properties)) {
      const name = names.get(field) ?? field;
      if (schema.type === "array")
        for (const c of schema.items?.oneOf ?? [])
          map.set(`${name}___${c.const}`, { kind: "choice", form, field, code: c.const });
      else if (isFileField(schema)) map.set(name, { kind: "file", form });
      else if (schema.type !== "null") map.set(name, { kind: "field", form, field, schema });
    }
    map.set(`${form}_complete`, { kind: "complete", form });
  }
  return map;
}

/** A REDCap date in `dateFormat` as the ISO date the engine stores (times kept as given). */
function isoDate(value: string, dateFormat: DateFormat): string | undefined {
  const [date = "", ...time] = value.trim().split(" ");
  const parts = date.split(/[-/]/);
  if (parts.length !== 3) return undefined;
  const [a = "", b = "", c = ""] = parts;
  const [y, m, d] = dateFormat === "YMD" ? [a, b, c] : dateFormat === "MDY" ? [c, a, b] : [c, b, a];
  if (!/^\d{4}$/.test(y) || !/^\d{1,2}$/.test(m) || !/^\d{1,2}$/.test(d)) return undefined;
  return [`${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`, ...time].join(" ");
}

/** One cell as the field's typed value, or why it cannot be: `text` is trimmed, `raw` as given. */
function typed(
  schema: FieldSchema,
  text: string,
  raw: string,
  dateFormat: DateFormat,
): { value: unknown } | { error: string } {
  if (schema.oneOf) {
    const choice = schema.oneOf.find((c) => String(c.const) === text);
    return choice
      ? { value: choice.const }
      : { error: `is not one of the choices (${schema.oneOf.map((c) => c.const).join(", ")})` };
  }
  if (schema.type === "boolean") {
    if (text === "1" || text === "0") return { value: text === "1" };
    return { error: "is not 1 or 0" };
  }
  if (schema.type === "integer" || schema.type === "number") {
    // A comma-decimal field comes as REDCap stores it ("1,54"); a dot is read too.
    const n = Number(isCommaDecimal(schema) ? text.replace(",", ".") : text);
    if (text.trim() === "" || !Number.isFinite(n)) return { error: "is not a number" };
    if (schema.type === "integer" && !Number.isInteger(n)) return { error: "is not an integer" };
    return { value: n };
  }
  if (schema.format === "local-date-time") {
    const parsed = parseLocalDateTimeText(isoDate(text.replace("T", " "), dateFormat) ?? "");
    return parsed.ok
      ? { value: parsed.value }
      : { error: `is not a date and time in the ${dateFormat} format` };
  }
  if (schema.format === "date" || schema.format === "date-time") {
    const iso = isoDate(text, dateFormat);
    return iso ? { value: iso } : { error: `is not a date in the ${dateFormat} format` };
  }
  // Free text is kept as REDCap keeps it, spaces around it included (a note's trailing blank line).
  if (schema.type === "string" || schema.type === undefined) return { value: raw };
  return { error: `cannot be imported into a field of type ${String(schema.type)}` };
}

export function readImportRows(
  definition: StudyDefinition,
  rows: Record<string, string>[],
  dateFormat: DateFormat = "YMD",
): { instances: ImportedInstance[]; refused: RefusedValue[] } {
  const byColumn = targets(definition);
  const { study } = definition;
  // Every unique event name of the study, with its event and arm.
  const events = new Map<string, { event: string; arm: string }>();
  for (const arm of study.arms) {
    for (const e of study.events)
      if (!e.arms || e.arms.includes(arm.id))
        events.set(uniqueEventName(definition, e.id, arm.id), { event: e.id, arm: arm.id });
    events.set(uniqueEventName(definition, LOGS_EVENT, arm.id), { event: LOGS_EVENT, arm: arm.id });
  }
  // A classic project's rows name no event (REDCap exports none): its one event, or the logs for a repeat.
  const [onlyArm] = study.arms;
  const [onlyEvent] = study.events;
  const classicEvent = (repeatForm: string) =>
    isLongitudinal(definition) || !onlyArm || !onlyEvent
      ? undefined
      : { event: repeatForm ? LOGS_EVENT : onlyEvent.id, arm: onlyArm.id };
  const instances: ImportedInstance[] = [];
  const refused: RefusedValue[] = [];
  const seen = new Set<string>();
  const columns = Object.keys(rows[0] ?? {});
  // REDCap takes the first column as the record id, whatever its name.
  const idColumn = columns.includes(RECORD_ID) ? RECORD_ID : (columns[0] ?? RECORD_ID);
  for (const column of columns)
    if (column !== idColumn && !FIXED.has(column) && !byColumn.has(column))
      refused.push({
        record: "",
        event: "",
        field: column,
        value: "",
        message: "is not a field of this project",
      });

  for (const row of rows) {
    const record = (row[idColumn] ?? "").trim();
    const eventName = (row.redcap_event_name ?? "").trim();
    const refuse = (field: string, value: string, message: string) =>
      refused.push({ record, event: eventName, field, value, message });
    if (!record) {
      refuse(idColumn, "", "the record id is blank");
      continue;
    }
    const repeatForm = (row.redcap_repeat_instrument ?? "").trim();
    const where = events.get(eventName) ?? (eventName === "" ? classicEvent(repeatForm) : undefined);
    if (!where) {
      refuse("redcap_event_name", eventName, "is not an event of this project");
      continue;
    }
    const instanceText = (row.redcap_repeat_instance ?? "").trim();
    const event = study.events.find((e) => e.id === where.event);
    // The arm's forms at the event: those repeating on their own there have rows of their own.
    const armForms = event ? eventFormsFor(event, where.arm) : [];
    const ownRows = new Set(armForms.filter((f) => repeatInstrumentOf(definition, where.event, f) !== ""));
    if (where.event === LOGS_EVENT && !study.logs.includes(repeatForm)) {
      refuse("redcap_repeat_instrument", repeatForm, "is not a repeating instrument of this project");
      continue;
    }
    if (where.event !== LOGS_EVENT && repeatForm && !ownRows.has(repeatForm)) {
      refuse("redcap_repeat_instrument", repeatForm, `is not a repeating instrument at ${eventName}`);
      continue;
    }
    const repeated = where.event === LOGS_EVENT || event?.repeatable === true || repeatForm !== "";
    const onEvent = new Set(repeatForm ? [repeatForm] : armForms.filter((f) => !ownRows.has(f)));
    const instance = repeated ? Number(instanceText || "1") : 1;
    if (!Number.isInteger(instance) || instance < 1 || (!repeated && instanceText !== "")) {
      refuse(
        "redcap_repeat_instance",
        instanceText,
        repeated ? "is not a positive whole number" : "this event does not repeat",
      );
      continue;
    }
    const perForm = new Map<string, ImportedInstance>();
    const formOf = (form: string) => {
      const found = perForm.get(form);
      if (found) return found;
      const created: ImportedInstance = {
        record,
        eventName,
        arm: where.arm,
        event: where.event,
        form,
        instance,
        values: {},
        blanks: [],
        given: false,
        ...(row.redcap_data_access_group?.trim() ? { site: row.redcap_data_access_group.trim() } : {}),
      };
      perForm.set(form, created);
      return created;
    };
    const touched = new Set<string>();
    for (const [column, raw] of Object.entries(row)) {
      const target = byColumn.get(column);
      // A file column is skipped as REDCap skips it: neither a value nor a blank that would remove the file.
      if (!target || target.kind === "file") continue;
      const text = (raw ?? "").trim();
      if (text !== "") touched.add(target.form);
      if (text !== "" && !onEvent.has(target.form)) {
        refuse(
          column,
          text,
          ownRows.has(target.form) && !repeatForm
            ? `${target.form} repeats at ${eventName}: give it on its own row with redcap_repeat_instrument`
            : `${target.form} is not collected at ${eventName}${repeatForm ? ` (${repeatForm})` : ""}`,
        );
        continue;
      }
      if (!onEvent.has(target.form)) continue;
      const item = formOf(target.form);
      if (target.kind === "complete") {
        if (text === "") continue;
        const status = STATUS_BY_CODE.get(text);
        if (status) item.status = status;
        else refuse(column, text, "is not 0, 1 or 2");
      } else if (target.kind === "choice") {
        if (text !== "" && text !== "0" && text !== "1") {
          refuse(column, text, "is not 1 or 0");
          continue;
        }
        const codes = (item.values[target.field] as (string | number)[] | undefined) ?? [];
        if (text === "1") codes.push(target.code);
        if (text !== "") item.values[target.field] = codes;
        else if (!(target.field in item.values) && !item.blanks.includes(target.field))
          item.blanks.push(target.field);
      } else if (text === "") item.blanks.push(target.field);
      else {
        const result = typed(target.schema, text, raw ?? "", dateFormat);
        if ("error" in result) refuse(column, text, result.error);
        else item.values[target.field] = result.value;
      }
    }
    for (const item of perForm.values()) {
      item.given = touched.has(item.form);
      // A checkbox with any column given is given: its blank columns only say unchecked.
      item.blanks = item.blanks.filter((f) => !(f in item.values));
      // REDCap rows carry every form's columns: an all-blank form only matters to an overwriting import.
      if (!touched.has(item.form) && item.blanks.length === 0) continue;
      const key = `${record}\u0000${item.event}\u0000${item.form}\u0000${item.instance}`;
      if (seen.has(key)) {
        refuse(item.form, "", `${item.form} instance ${item.instance} is given on more than one row`);
        continue;
      }
      seen.add(key);
      instances.push(item);
    }
  }
  return { instances, refused };
}

/** The `data` of an import as REDCap sends it: CSV with a header row, or a JSON list of objects (throws what cannot be read). */
export function parseImportData(data: string | unknown[], format: "csv" | "json"): Record<string, string>[] {
  if (format === "csv" && typeof data === "string")
    return parse(data, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  const rows: unknown = typeof data === "string" ? JSON.parse(data) : data;
  if (!Array.isArray(rows) || rows.some((r) => typeof r !== "object" || r === null || Array.isArray(r)))
    throw new Error("not a list of records");
  return rows.map((r: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v)]),
    ),
  );
}
