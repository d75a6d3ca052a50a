import { redcapDateTime } from "../engine/date-text.ts";
import {
  type FieldSchema,
  FORM_STATUS_CODE,
  FORM_STATUS_LABEL,
  type FormData,
  type FormStatus,
  LOGS_EVENT,
  type StudyDefinition,
} from "../engine/definition.ts";
import { asFileReference, isFileField } from "../engine/file-fields.ts";
import { formOrder } from "../engine/form-order.ts";
import { isEmpty } from "../engine/logic.ts";
import type { MissingData } from "../engine/missing-codes.ts";
import { redcapNames } from "../engine/redcap/fields.ts";
import { isCommaDecimal } from "../engine/redcap/validation-types.ts";
import type { SubjectStatus } from "../engine/review.ts";
import { repeatsAt } from "../engine/slots.ts";
import { DEFAULT_SUBJECT_STATUS, STATUS_LABEL as SUBJECT_STATUS_LABEL } from "../engine/subject-status.ts";
import { type Deidentify, shiftDate } from "./deidentify.ts";

/**
 * REDCap's flat record shape: one row per subject × event × repeat instance;
 * a column per field, a multiple choice as `field___code` columns, and
 * `<form>_complete` (0 incomplete, 1 unverified, 2 complete). Pure: rows are
 * built one subject at a time so an export never holds more than that.
 */

export interface FlatInstance {
  event: string;
  form: string;
  instance: number;
  status: FormStatus;
  data: FormData;
  enteredInError?: boolean;
  /** Fields holding a missing-data code: the code is written in the field's column(s), as REDCap does. */
  missing?: MissingData;
}

export interface FlatOptions {
  rawOrLabel?: "raw" | "label";
  /** With `fields`, REDCap's union: every field of these forms, plus the fields named (`<form>_complete` too). */
  forms?: string[];
  fields?: string[];
  /**
   * `fields` are REDCap's field names (unique across the project, a name two
   * forms share renamed `<form>_<field>` as the dictionary lists it), not the
   * engine's per-form ids: `weight` is then the one form's field that kept the
   * name, never every form's `weight`.
   */
  fieldsAreRedcapNames?: boolean;
  events?: string[];
  /** The caller asked for instances entered in error: a `<form>_entered_in_error` column (1/0) tells them apart. */
  includeEnteredInError?: boolean;
  /** Keeps a row or not, seeing all of its forms' data whatever the columns (REDCap's filterLogic, unique event names). */
  keepRow?: (row: RowSource) => boolean;
  /** The de-identification to apply, if any. */
  deidentify?: Deidentify;
  /**
   * Each subject's recorded status: given, a `subject_status` column (after
   * the REDCap ones) carries it on every row; a subject without one is
   * enrolled. The REDCap endpoint leaves it out, as REDCap has no such column.
   */
  subjectStatuses?: ReadonlyMap<string, SubjectStatus>;
  /** Every value as text, as REDCap's JSON gives them (`"height":"165"`, `"redcap_repeat_instance":"1"`). */
  valuesAsText?: boolean;
  /** A comma-decimal field's numbers with a decimal comma (`"1,54"`), as REDCap keeps them: its endpoint only. */
  commaDecimals?: boolean;
  /** Given, REDCap's `redcap_data_access_group` column: the unique group name of the subject's site. */
  dataAccessGroup?: (site: string) => string;
}

export interface Column {
  name: string;
  form?: string;
  field?: string;
  /** For a `field___code` column of a multiple choice. */
  code?: string | number;
  complete?: boolean;
  enteredInError?: boolean;
}

export type Row = Record<string, string | number>;

/** What a row is made of: its event (`eventName` is REDCap's unique event name) and every instance on it. */
export interface RowSource {
  subject: string;
  event: string;
  eventName: string;
  items: FlatInstance[];
}

/** The default record id column: REDCap's own default first field. */
export const RECORD_ID = "record_id";

/** The study's record id column name (study.json `recordIdField`). */
export function recordIdField(definition: StudyDefinition): string {
  return definition.study.recordIdField ?? RECORD_ID;
}

/**
 * REDCap's "classic" project: one arm and one scheduled (not repeatable)
 * event, so a row needs no event name. Logs are then REDCap's repeating
 * instruments of that one event.
 */
/**
 * An event as REDCap labels it with rawOrLabel=label: its label, followed by
 * its arm (`Screening (Arm 1: RRMS)`) when the study has more than one arm.
 */
export function eventLabel(definition: StudyDefinition, event: string, arm: string): string {
  const label =
    event === LOGS_EVENT ? "Logs" : (definition.study.events.find((e) => e.id === event)?.label ?? event);
  const { arms } = definition.study;
  if (arms.length < 2) return label;
  return `${label} (Arm ${armNumber(definition, arm)}: ${arms.find((a) => a.id === arm)?.label ?? arm})`;
}

/** REDCap's arm number: the protocol's `number`, else the arm's position from 1. */
export function armNumber(definition: StudyDefinition, arm: string): number {
  const { arms } = definition.study;
  const at = arms.findIndex((a) => a.id === arm);
  return arms[at]?.number ?? Math.max(at + 1, 1);
}

/** A site as REDCap names a data access group: its id, lower case with underscores (`site-01` → `site_01`). */
export function uniqueGroupName(site: string): string {
  return site.toLowerCase().replaceAll(/[^a-z0-9]/g, "_");
}

export function isLongitudinal(definition: StudyDefinition): boolean {
  const { arms, events } = definition.study;
  return arms.length > 1 || events.length > 1 || events.some((e) => e.repeatable === true);
}

/** Whether any row can be a repeat instance (logs, a repeatable event, a form repeating at an event): the repeat columns exist only then. */
export function hasRepeats(definition: StudyDefinition): boolean {
  return (
    definition.study.logs.length > 0 ||
    definition.study.events.some((e) => e.repeatable === true || (e.repeatingForms?.length ?? 0) > 0)
  );
}

/**
 * The form a row of `event` repeats on its own (REDCap's
 * `redcap_repeat_instrument`): a log, or a form repeating at a one-off visit;
 * "" where the row is the whole visit (one-off, or a repeatable visit's instance).
 */
export function repeatInstrumentOf(definition: StudyDefinition, event: string, form: string): string {
  if (event === LOGS_EVENT) return form;
  const found = definition.study.events.find((e) => e.id === event);
  if (!found || found.repeatable === true) return "";
  const instrument = Object.hasOwn(definition.instruments, form) ? definition.instruments[form] : undefined;
  return repeatsAt(found, form, instrument) ? form : "";
}
export const SUBJECT_STATUS = "subject_status";

/** REDCap's unique event name: `<event>_arm_<n>` (n = the arm's number, by default its position from 1). */
export function uniqueEventName(definition: StudyDefinition, event: string, arm: string): string {
  return `${event}_arm_${armNumber(definition, arm)}`;
}

/**
 * Column names per form and field: REDCap's field names are unique across a
 * project, so a field sharing its name with an earlier form's is exported as
 * `<form>_<field>`, exactly as the data dictionary names it.
 */
export function exportNames(definition: StudyDefinition): Map<string, Map<string, string>> {
  return redcapNames(definition.instruments, formOrder(definition), [recordIdField(definition)]);
}

/** Forms that can be entered in error: the logs, the forms of repeatable (unscheduled) visits, forms repeating at a visit. */
function markableForms(definition: StudyDefinition): Set<string> {
  const forms = new Set(definition.study.logs);
  for (const e of definition.study.events) {
    if (e.repeatable) for (const f of e.forms) forms.add(f);
    for (const f of e.repeatingForms ?? []) forms.add(f);
  }
  return forms;
}

export function flatColumns(definition: StudyDefinition, options: FlatOptions = {}): Column[] {
  const columns: Column[] = [{ name: recordIdField(definition) }];
  if (isLongitudinal(definition)) columns.push({ name: "redcap_event_name" });
  if (hasRepeats(definition))
    columns.push({ name: "redcap_repeat_instrument" }, { name: "redcap_repeat_instance" });
  if (options.dataAccessGroup) columns.push({ name: "redcap_data_access_group" });
  const everything = !options.forms && !options.fields;
  if (options.subjectStatuses && (everything || options.fields?.includes(SUBJECT_STATUS)))
    columns.push({ name: SUBJECT_STATUS });
  const names = exportNames(definition);
  for (const form of formOrder(definition)) {
    const instrument = definition.instruments[form];
    if (!instrument) continue;
    const wholeForm = everything || options.forms?.includes(form) === true;
    for (const [field, schema] of Object.entries(instrument.properties)) {
      const name = names.get(form)?.get(field) ?? field;
      const named = options.fieldsAreRedcapNames
        ? options.fields?.includes(name)
        : options.fields?.includes(field) || options.fields?.includes(name);
      if (!wholeForm && !named) continue;
      if (options.deidentify?.dropIdentifiers && schema["x-identifier"]) continue;
      if (schema.type === "null") continue;
      if (schema.type === "array") {
        for (const c of schema.items?.oneOf ?? [])
          columns.push({ name: `${name}___${c.const}`, form, field, code: c.const });
      } else columns.push({ name, form, field });
    }
    if (wholeForm || options.fields?.includes(`${form}_complete`)) {
      columns.push({ name: `${form}_complete`, form, complete: true });
      if (options.includeEnteredInError && markableForms(definition).has(form))
        columns.push({ name: `${form}_entered_in_error`, form, enteredInError: true });
    }
  }
  return columns;
}

function cell(
  schema: FieldSchema,
  value: unknown,
  label: boolean,
  shift: number,
  commaDecimals: boolean,
): string | number {
  if (isEmpty(value)) return "";
  if (typeof value === "boolean") return label ? (value ? "Yes" : "No") : value ? 1 : 0;
  if (
    shift !== 0 &&
    typeof value === "string" &&
    (schema.format === "date" || schema.format === "date-time" || schema.format === "local-date-time")
  ) {
    value = shiftDate(value, shift);
  }
  // A local date-time as REDCap writes it ("2024-01-02 10:30"), so REDCap tools and our importer read it back.
  if (schema.format === "local-date-time" && typeof value === "string") return redcapDateTime(value);
  if (label && schema.oneOf) return schema.oneOf.find((c) => c.const === value)?.title ?? String(value);
  // REDCap keeps a comma-decimal field's numbers as entered: "1,54".
  if (commaDecimals && typeof value === "number" && isCommaDecimal(schema))
    return String(value).replace(".", ",");
  if (typeof value === "number" || typeof value === "string") return value;
  // A file is its name in the row, as REDCap exports a file field; the manifest carries the hash.
  const file = isFileField(schema) ? asFileReference(value) : undefined;
  if (file) return file.name;
  return JSON.stringify(value);
}

/**
 * One subject's rows, in schedule order: each event's one-off forms on one row,
 * each instance of a repeatable event on its own row, each log instance and
 * each instance of a form repeating at a visit on a row of its own
 * (`redcap_repeat_instrument` = the form).
 */
export function flatRows(
  definition: StudyDefinition,
  subject: { id: string; arm: string; site?: string },
  instances: FlatInstance[],
  columns: Column[],
  options: FlatOptions = {},
): Row[] {
  const label = options.rawOrLabel === "label";
  const shift = options.deidentify?.shiftDays?.(subject.id) ?? 0;
  const recordId = options.deidentify?.subjectKey?.(subject.id) ?? subject.id;
  const columnForms = new Set(columns.filter((c) => c.form).map((c) => c.form));
  // Rows stand for the forms asked for; when only fields are named, for every event (instance) with data.
  const wanted = (form: string) => !options.forms || columnForms.has(form);
  const groups = new Map<
    string,
    { event: string; repeatForm: string; instance: number | ""; items: FlatInstance[] }
  >();
  const eventOrder = [...definition.study.events.map((e) => e.id), LOGS_EVENT];
  for (const i of instances) {
    if (!options.keepRow && !wanted(i.form)) continue;
    if (options.events && !options.events.includes(i.event)) continue;
    const event = definition.study.events.find((e) => e.id === i.event);
    const repeatForm = repeatInstrumentOf(definition, i.event, i.form);
    const repeated = repeatForm !== "" || event?.repeatable === true;
    const key = `${i.event}\u0000${repeatForm}\u0000${repeated ? i.instance : ""}`;
    const group = groups.get(key) ?? {
      event: i.event,
      repeatForm,
      instance: repeated ? i.instance : "",
      items: [],
    };
    group.items.push(i);
    groups.set(key, group);
  }
  const sorted = [...groups.values()].sort(
    (a, b) =>
      eventOrder.indexOf(a.event) - eventOrder.indexOf(b.event) ||
      a.repeatForm.localeCompare(b.repeatForm) ||
      Number(a.instance) - Number(b.instance),
  );
  const kept = sorted.filter(
    (g) =>
      g.items.some((i) => wanted(i.form)) &&
      (!options.keepRow ||
        options.keepRow({
          subject: subject.id,
          event: g.event,
          eventName: uniqueEventName(definition, g.event, subject.arm),
          items: g.items,
        })),
  );
  return kept.map((g) => {
    const row: Row = {};
    for (const c of columns) row[c.name] = "";
    row[recordIdField(definition)] = recordId;
    if ("redcap_event_name" in row)
      row.redcap_event_name = label
        ? eventLabel(definition, g.event, subject.arm)
        : uniqueEventName(definition, g.event, subject.arm);
    if (options.dataAccessGroup && subject.site !== undefined)
      row.redcap_data_access_group = options.dataAccessGroup(subject.site);
    if ("redcap_repeat_instance" in row) {
      row.redcap_repeat_instrument =
        label && g.repeatForm ? (definition.instruments[g.repeatForm]?.title ?? g.repeatForm) : g.repeatForm;
      row.redcap_repeat_instance = g.instance;
    }
    if (SUBJECT_STATUS in row) {
      const status = options.subjectStatuses?.get(subject.id) ?? DEFAULT_SUBJECT_STATUS;
      row[SUBJECT_STATUS] = label ? SUBJECT_STATUS_LABEL[status] : status;
    }
    const byForm = new Map(g.items.map((i) => [i.form, i]));
    for (const c of columns) {
      if (!c.form) continue;
      const item = byForm.get(c.form);
      if (!item) continue;
      if (c.enteredInError) {
        row[c.name] = item.enteredInError ? 1 : 0;
        continue;
      }
      if (c.complete) {
        row[c.name] = label ? FORM_STATUS_LABEL[item.status] : FORM_STATUS_CODE[item.status];
        continue;
      }
      const schema = definition.instruments[c.form]?.properties[c.field ?? ""];
      if (!schema || !c.field) continue;
      const value = item.data[c.field];
      const coded = item.missing && Object.hasOwn(item.missing, c.field) ? item.missing[c.field] : undefined;
      if (coded && (value === undefined || value === null)) row[c.name] = coded.code;
      else if (c.code !== undefined) {
        const checked = Array.isArray(value) && value.includes(c.code);
        row[c.name] = label ? (checked ? "Checked" : "Unchecked") : checked ? 1 : 0;
      } else row[c.name] = cell(schema, value, label, shift, options.commaDecimals === true);
    }
    return options.valuesAsText
      ? Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)]))
      : row;
  });
}
