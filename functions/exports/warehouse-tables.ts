import type { FieldSchema, StudyDefinition } from "../engine/definition.ts";
import { asFileReference, isFileField } from "../engine/file-fields.ts";
import { formOrder } from "../engine/form-order.ts";
import { isEmpty } from "../engine/logic.ts";
import type { MissingData } from "../engine/missing-codes.ts";
import type { SubjectStatus } from "../engine/review.ts";
import { DEFAULT_SUBJECT_STATUS } from "../engine/subject-status.ts";
import { type Deidentify, deidentifyChange, shiftDate } from "./deidentify.ts";

/**
 * The warehouse's tables, as the definition makes them: one per instrument
 * (a row per form instance), one of subjects for joins, and, in an
 * increment, one of changes per instrument. Pure: the producers
 * (warehouse.ts), the manifest and the DDL all read the shapes from here.
 */

/** Column types a lakehouse maps one to one (see athena-ddl.ts). */
export type ColumnType = "string" | "number" | "integer" | "boolean" | "date" | "datetime" | "array<string>";

export interface WarehouseColumn {
  name: string;
  type: ColumnType;
  /** The definition's field the column holds, when it is one (its name may differ: see `fieldColumns`). */
  field?: string;
  /** Always present in a row (the rest are left out when empty). */
  required?: boolean;
}

export type TableKind = "form" | "subjects" | "changes";

export interface WarehouseTable {
  /** Unique in a manifest; also the table name's suffix in the DDL. */
  name: string;
  kind: TableKind;
  form?: string;
  /** The table's folder inside the job's folder, ending "/": its files are `<location>part-<nnnnn>.ndjson.gz`. */
  location: string;
  columns: WarehouseColumn[];
}

const INSTANCE_COLUMNS: WarehouseColumn[] = [
  { name: "study", type: "string", required: true },
  { name: "subject", type: "string", required: true },
  { name: "site", type: "string", required: true },
  { name: "arm", type: "string" },
  { name: "event", type: "string", required: true },
  { name: "form", type: "string", required: true },
  { name: "instance", type: "integer", required: true },
  { name: "status", type: "string", required: true },
  { name: "revision", type: "integer", required: true },
  { name: "definition_version", type: "integer", required: true },
  { name: "committed_at", type: "datetime", required: true },
  { name: "entered_in_error", type: "boolean", required: true },
  /** The missing-data codes of the row's fields, as JSON text (`{"height":"UNK"}`): a code is not of the field's type. */
  { name: "missing_data", type: "string" },
];

const OPERATION: WarehouseColumn = { name: "operation", type: "string", required: true };

const SUBJECT_COLUMNS: WarehouseColumn[] = [
  { name: "study", type: "string", required: true },
  { name: "subject", type: "string", required: true },
  { name: "site", type: "string", required: true },
  { name: "arm", type: "string", required: true },
  { name: "enrolled_at", type: "datetime", required: true },
  { name: "status", type: "string", required: true },
];

/** What identifies one row's instance state: duplicates across a snapshot and its increments resolve by the highest revision. */
export const ROW_KEY = ["subject", "event", "form", "instance", "revision"] as const;

export function columnType(schema: FieldSchema): ColumnType | undefined {
  if (schema.type === "null") return undefined;
  if (schema.type === "array") return "array<string>";
  if (schema.type === "boolean" || schema.type === "integer" || schema.type === "number") return schema.type;
  if (schema.format === "date") return "date";
  if (schema.format === "date-time" || schema.format === "local-date-time") return "datetime";
  // Text, a time of day, a coded choice, a file (its name, as the flat export writes it).
  return "string";
}

/**
 * A field's column name: lower case (Athena and Glue fold names), a field
 * named like a row column (`status`, `site`…) or like an earlier field once
 * folded gets a `field_` prefix, so no two columns share a name.
 */
function fieldColumns(
  definition: StudyDefinition,
  form: string,
  reserved: WarehouseColumn[],
  deidentify: Deidentify | undefined,
): WarehouseColumn[] {
  const taken = new Set(reserved.map((c) => c.name));
  const columns: WarehouseColumn[] = [];
  for (const [field, schema] of Object.entries(definition.instruments[form]?.properties ?? {})) {
    if (deidentify?.dropIdentifiers && schema["x-identifier"]) continue;
    const type = columnType(schema);
    if (!type) continue;
    const plain = field.toLowerCase().replaceAll(/[^a-z0-9_]/g, "_");
    let name = taken.has(plain) ? `field_${plain}` : plain;
    for (let n = 2; taken.has(name); n++) name = `field_${plain}_${n}`;
    taken.add(name);
    columns.push({ name, type, field });
  }
  return columns;
}

export interface TableChoices {
  forms?: string[];
  deidentify?: Deidentify;
}

/** The instruments a warehouse export writes, in the study's form order. */
export function warehouseForms(definition: StudyDefinition, choices: TableChoices): string[] {
  return formOrder(definition).filter(
    (f) => definition.instruments[f] !== undefined && (!choices.forms || choices.forms.includes(f)),
  );
}

export function formTable(definition: StudyDefinition, form: string, choices: TableChoices): WarehouseTable {
  return {
    name: form,
    kind: "form",
    form,
    location: `form=${form}/`,
    columns: [...INSTANCE_COLUMNS, ...fieldColumns(definition, form, INSTANCE_COLUMNS, choices.deidentify)],
  };
}

export function changesTable(
  definition: StudyDefinition,
  form: string,
  choices: TableChoices,
): WarehouseTable {
  const reserved = [...INSTANCE_COLUMNS, OPERATION];
  return {
    name: `${form}_changes`,
    kind: "changes",
    form,
    location: `changes/form=${form}/`,
    columns: [...reserved, ...fieldColumns(definition, form, reserved, choices.deidentify)],
  };
}

export const SUBJECTS_TABLE: WarehouseTable = {
  name: "subjects",
  kind: "subjects",
  location: "subjects/",
  columns: SUBJECT_COLUMNS,
};

/** A snapshot's tables: subjects, then one per instrument. */
export function snapshotTables(definition: StudyDefinition, choices: TableChoices): WarehouseTable[] {
  return [
    SUBJECTS_TABLE,
    ...warehouseForms(definition, choices).map((f) => formTable(definition, f, choices)),
  ];
}

/** An increment's tables: subjects (whole), then one of changes per instrument. */
export function incrementTables(definition: StudyDefinition, choices: TableChoices): WarehouseTable[] {
  return [
    SUBJECTS_TABLE,
    ...warehouseForms(definition, choices).map((f) => changesTable(definition, f, choices)),
  ];
}

/** What a row is built from: a form instance's state at one revision (a current projection or a feed entry). */
export interface InstanceState {
  study: string;
  subject: string;
  site: string;
  event: string;
  form: string;
  instance: number;
  rev: number;
  status: string;
  definitionVersion: number;
  committedAt: string;
  enteredInError?: boolean;
  data: Record<string, unknown>;
  missing?: MissingData;
  action?: string;
}

export type WarehouseRow = Record<string, string | number | boolean | string[] | null>;

function cell(schema: FieldSchema | undefined, type: ColumnType, value: unknown): WarehouseRow[string] {
  if (type === "array<string>") return Array.isArray(value) ? value.map(String) : null;
  if (schema && isFileField(schema)) return asFileReference(value)?.name ?? null;
  if (type === "boolean") return typeof value === "boolean" ? value : null;
  if (type === "number" || type === "integer") return typeof value === "number" ? value : null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * One instance's row: de-identified by the change feed's own rule
 * (deidentify.ts: identifiers out, dates and the commit time shifted, the
 * subject keyed), then each field typed as its column says; empty fields
 * are left out (a lakehouse reads an absent key as null).
 */
export function instanceRow(
  definition: StudyDefinition,
  table: WarehouseTable,
  arm: string | undefined,
  state: InstanceState,
  deidentify: Deidentify | undefined,
): WarehouseRow {
  const s = deidentify
    ? deidentifyChange({ ...state, changes: [] }, definition.instruments, deidentify)
    : state;
  const row: WarehouseRow = {
    study: s.study,
    subject: s.subject,
    site: s.site,
    ...(arm !== undefined ? { arm } : {}),
    event: s.event,
    form: s.form,
    instance: s.instance,
    status: s.status,
    revision: s.rev,
    definition_version: s.definitionVersion,
    committed_at: s.committedAt,
    entered_in_error: s.enteredInError === true,
  };
  if (table.kind === "changes") row.operation = s.action ?? "save";
  const properties = definition.instruments[s.form]?.properties ?? {};
  const missing: Record<string, string> = {};
  for (const c of table.columns) {
    if (!c.field) continue;
    const coded = s.missing?.[c.field];
    if (coded) missing[c.field] = coded.code;
    const value = s.data[c.field];
    if (isEmpty(value)) continue;
    row[c.name] = cell(properties[c.field], c.type, value);
  }
  if (Object.keys(missing).length > 0) row.missing_data = JSON.stringify(missing);
  return row;
}

export function subjectRow(
  subject: { study: string; id: string; site: string; arm: string; enrolledAt: string },
  status: SubjectStatus | undefined,
  deidentify: Deidentify | undefined,
): WarehouseRow {
  const shift = deidentify?.shiftDays?.(subject.id) ?? 0;
  return {
    study: subject.study,
    subject: deidentify?.subjectKey?.(subject.id) ?? subject.id,
    site: subject.site,
    arm: subject.arm,
    enrolled_at: shift ? shiftDate(subject.enrolledAt, shift) : subject.enrolledAt,
    status: status ?? DEFAULT_SUBJECT_STATUS,
  };
}

const JSON_TYPE: Record<ColumnType, Record<string, unknown>> = {
  string: { type: "string" },
  number: { type: "number" },
  integer: { type: "integer" },
  boolean: { type: "boolean" },
  date: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
  datetime: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}" },
  "array<string>": { type: "array", items: { type: "string" } },
};

/** A JSON Schema every line of the table's files satisfies: the proof of the files' shape. */
export function tableJsonSchema(table: WarehouseTable): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: table.name,
    type: "object",
    additionalProperties: false,
    required: table.columns.filter((c) => c.required).map((c) => c.name),
    properties: Object.fromEntries(table.columns.map((c) => [c.name, JSON_TYPE[c.type]])),
  };
}
