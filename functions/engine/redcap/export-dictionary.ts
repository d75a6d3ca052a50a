import type { FieldSchema, Instrument, Logic } from "../definition.ts";
import { calcTagOf, writeActionTags } from "./action-tags.ts";
import { readAnnotation, stableJson, writeAnnotation } from "./annotation.ts";
import { emptyRow, type Issue, type Row, writeRows } from "./columns.ts";
import { columnsFingerprint, formTitle, rowToSchema, schemaToRow } from "./field-rows.ts";
import { findField, type LogicFields, logicFields, redcapNames } from "./fields.ts";
import { pipingToRedcap } from "./piping.ts";
import { toJsonLogic } from "./to-json-logic.ts";
import { type ToRedcapResult, toRedcap } from "./to-redcap.ts";

/**
 * Instruments → a REDCap data dictionary. The record id comes first (REDCap
 * requires it; the engine's subject id plays its part). What a REDCap column
 * can say goes in that column; what it cannot is carried in @X-SCHEMA and
 * @X-INSTRUMENT annotation tags so that importing the file gives the same
 * instruments back, and is listed in the report.
 */

export interface ExportOptions {
  /** REDCap's first field, the record id (default "record_id"); "" for an instrument file without one. */
  recordIdField?: string;
  recordIdLabel?: string;
  /** The form of the record id row (default: the first form exported). */
  recordIdForm?: string;
  /** Form order; instruments not listed follow in key order. */
  formOrder?: string[];
  /** Carry what REDCap has no column for in @X- annotation tags (default true). */
  engineTags?: boolean;
}

export interface ExportResult {
  rows: Row[];
  report: Issue[];
}

const LOGIC_KEYS = new Set(["x-visible-if", "x-visible-if-redcap", "x-calc", "x-calc-redcap"]);
const INSTRUMENT_KEYS = ["title", "description", "x-repeating", "x-rules"] as const;

export function buildDictionary(
  instruments: Record<string, Instrument>,
  options: ExportOptions = {},
): ExportResult {
  const report: Issue[] = [];
  const tags = options.engineTags ?? true;
  const order = [
    ...(options.formOrder ?? []).filter((f) => instruments[f] !== undefined),
    ...Object.keys(instruments).filter((f) => !(options.formOrder ?? []).includes(f)),
  ];
  const recordIdField = options.recordIdField ?? "record_id";
  const recordRow = emptyRow();
  recordRow["Variable / Field Name"] = recordIdField;
  recordRow["Form Name"] = options.recordIdForm ?? order[0] ?? "";
  recordRow["Field Type"] = "text";
  recordRow["Field Label"] = options.recordIdLabel ?? "Record ID";
  const rows: Row[] = recordIdField === "" ? [] : [recordRow];
  const names = redcapNames(instruments, order, recordIdField === "" ? [] : [recordIdField]);
  const fields = logicFields(instruments, names);

  for (const form of order) {
    const instrument = instruments[form] as Instrument;
    const instrumentTag: Record<string, unknown> = {};
    for (const key of INSTRUMENT_KEYS) {
      const value = instrument[key];
      if (value === undefined || (key === "title" && value === formTitle(form))) continue;
      instrumentTag[key] = value;
    }
    if (instrument["x-rules"]?.length) {
      report.push({
        form,
        field: "",
        column: "",
        severity: "warning",
        message: `${instrument["x-rules"].length} cross-field rule(s) have no place in a REDCap dictionary (REDCap's data quality rules are separate)${tags ? ": carried in @X-INSTRUMENT" : ""}`,
      });
    }
    if (instrument["x-repeating"]) {
      report.push({
        form,
        field: "",
        column: "",
        severity: "warning",
        message: `repeating instruments are set in REDCap's project settings, not in the dictionary${tags ? ": carried in @X-INSTRUMENT" : ""}`,
      });
    }
    let first = true;
    for (const [name, schema] of Object.entries(instrument.properties)) {
      const redcapName = names.get(form)?.get(name) ?? name;
      if (redcapName !== name) {
        report.push({
          form,
          field: name,
          column: "Variable / Field Name",
          severity: "warning",
          message: `REDCap field names are unique across a project: "${name}" is exported as "${redcapName}"${tags ? " (@X-SCHEMA keeps the engine's name)" : ""}`,
        });
      }
      const row = fieldRow({ name, redcapName, form, schema, instrument, fields, report, tags });
      if (first && tags && Object.keys(instrumentTag).length > 0) {
        const a = readAnnotation(row["Field Annotation"], { charLimit: false });
        row["Field Annotation"] = writeAnnotation({
          text: a.text,
          instrument: instrumentTag,
          schema: a.schema,
        });
      }
      first = false;
      rows.push(row);
    }
  }
  return { rows, report };
}

interface FieldContext {
  name: string;
  redcapName: string;
  form: string;
  schema: FieldSchema;
  instrument: Instrument;
  fields: LogicFields;
  report: Issue[];
  tags: boolean;
}

function fieldRow({ name, redcapName, form, schema, instrument, fields, report, tags }: FieldContext): Row {
  const at = (column: Issue["column"], severity: Issue["severity"], message: string) =>
    report.push({ form, field: name, column, severity, message });
  // A piped field keeps pointing at its field when the export renames it.
  const row = schemaToRow(redcapName, form, schema, (text) =>
    pipingToRedcap(text, (target, field) => findField(fields, target ?? form, field)?.[0] ?? field),
  );
  row["Required Field?"] = instrument.required?.includes(name) ? "y" : "";
  const text = schema.type === "string" && (row["Field Type"] === "text" || row["Field Type"] === "notes");
  const charLimit = text ? schema.maxLength : undefined;
  const carried: Record<string, unknown> = redcapName !== name ? { $name: name } : {};
  const computed = calcTagText(schema, fields, form, tags, at, carried);
  // The action tags the engine acts on come first, then the annotation kept verbatim.
  const annotation = [
    computed,
    writeActionTags(schema, row["Text Validation Type OR Show Slider Number"]),
    schema["x-annotation"] ?? "",
  ]
    .filter((t) => t !== "")
    .join(" ");
  row["Field Annotation"] = writeAnnotation({ text: annotation, charLimit });

  // An untranslated REDCap calculation or branching logic goes back exactly as it came.
  if (schema["x-calc-redcap"] !== undefined && schema["x-calc"] === undefined && !calcTagOf(schema))
    row["Choices, Calculations, OR Slider Labels"] = schema["x-calc-redcap"];
  if (schema["x-visible-if-redcap"] !== undefined && schema["x-visible-if"] === undefined)
    row["Branching Logic (Show field only if...)"] = schema["x-visible-if-redcap"];
  for (const [keyword, column, as] of [
    ["x-visible-if", "Branching Logic (Show field only if...)", "condition"],
    ["x-calc", "Choices, Calculations, OR Slider Labels", "value"],
  ] as const) {
    const logic = schema[keyword];
    if (keyword === "x-calc" && calcTagOf(schema)) continue;
    if (logic === undefined) continue;
    const r = toRedcap(logic, fields, { form, as });
    if ("error" in r) {
      at(column, "error", `not expressible in REDCap: ${r.error}${tags ? " (carried in @X-SCHEMA)" : ""}`);
      carried[keyword] = logic;
      continue;
    }
    row[column] = r.expr;
    for (const w of r.warnings) at(column, "warning", w);
    const back = toJsonLogic(r.expr, fields, { form, as });
    if (!("logic" in back) || stableJson(back.logic) !== stableJson(logic)) carried[keyword] = logic;
  }

  // Whatever importing this row would not give back.
  const silent = () => undefined;
  const base = rowToSchema(row, silent)?.schema ?? {};
  const keys = new Set([...Object.keys(schema), ...Object.keys(base)]);
  for (const key of keys) {
    if (LOGIC_KEYS.has(key)) continue;
    const want = (schema as Record<string, unknown>)[key];
    const got = (base as Record<string, unknown>)[key];
    if (stableJson(want) !== stableJson(got)) carried[key] = want === undefined ? null : want;
  }
  const engineOnly = Object.keys(carried).filter((k) => !LOGIC_KEYS.has(k) && k !== "$name");
  if (engineOnly.length > 0) {
    at(
      "Field Annotation",
      "warning",
      `REDCap has no column for ${engineOnly.join(", ")}${tags ? ": carried in @X-SCHEMA" : ": not exported"}`,
    );
  }
  if (tags && Object.keys(carried).length > 0) {
    const cols: Record<string, string> = {};
    for (const key of Object.keys(carried)) {
      const f = columnsFingerprint(row, key);
      if (f !== undefined) cols[key] = f;
    }
    const overlay = Object.keys(cols).length > 0 ? { ...carried, $cols: cols } : carried;
    row["Field Annotation"] = writeAnnotation({ text: annotation, charLimit, schema: overlay });
  }
  return row;
}

/**
 * The @CALCTEXT(…) / @CALCDATE(…) of a computed text or date, "" for any
 * other field; logic REDCap cannot write (or would read back differently) is
 * reported and carried in @X-SCHEMA instead.
 */
function calcTagText(
  schema: FieldSchema,
  fields: LogicFields,
  form: string,
  tags: boolean,
  at: (column: Issue["column"], severity: Issue["severity"], message: string) => void,
  carried: Record<string, unknown>,
): string {
  const tag = calcTagOf(schema);
  if (!tag) return "";
  const logic = schema["x-calc"];
  if (logic === undefined) return `${tag}(${schema["x-calc-redcap"] ?? ""})`;
  const r =
    tag === "@CALCDATE"
      ? calcDateArguments(logic, fields, form)
      : toRedcap(logic, fields, { form, as: "value" });
  if ("error" in r) {
    at(
      "Field Annotation",
      "error",
      `not expressible in REDCap: ${r.error}${tags ? " (carried in @X-SCHEMA)" : ""}`,
    );
    carried["x-calc"] = logic;
    return "";
  }
  for (const w of r.warnings) at("Field Annotation", "warning", w);
  const back =
    tag === "@CALCDATE"
      ? toJsonLogic(`calcdate(${r.expr})`, fields, { form, as: "value", calcDate: true })
      : toJsonLogic(r.expr, fields, { form, as: "value" });
  if (!("logic" in back) || stableJson(back.logic) !== stableJson(logic)) carried["x-calc"] = logic;
  return `${tag}(${r.expr})`;
}

/** `{"date_add": [date, offset, unit]}` as @CALCDATE's arguments. */
function calcDateArguments(logic: Logic, fields: LogicFields, form: string): ToRedcapResult {
  const args =
    logic !== null && typeof logic === "object" && !Array.isArray(logic)
      ? (logic as Record<string, unknown>).date_add
      : undefined;
  if (!Array.isArray(args) || args.length !== 3 || typeof args[2] !== "string")
    return {
      error: "a computed date is written @CALCDATE(date, offset, unit): its logic must be one date_add",
    };
  const date = toRedcap(args[0] ?? null, fields, { form, as: "value" });
  if ("error" in date) return date;
  const offset = toRedcap(args[1] ?? null, fields, { form, as: "value" });
  if ("error" in offset) return offset;
  return {
    expr: `${date.expr}, ${offset.expr}, '${args[2]}'`,
    warnings: [...date.warnings, ...offset.warnings],
  };
}

export function exportDictionary(
  instruments: Record<string, Instrument>,
  options: ExportOptions = {},
): string {
  return writeRows(buildDictionary(instruments, options).rows);
}
