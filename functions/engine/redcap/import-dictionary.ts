import { checkDefinition, type SourceFile } from "../check-definition.ts";
import type { CrossFieldRule, FieldSchema, Instrument, StudyFile } from "../definition.ts";
import { FIELD_NAME_PATTERN } from "../meta/instrument-schema.ts";
import { readAnnotation } from "./annotation.ts";
import { type Column, type Issue, type Row, readRows } from "./columns.ts";
import { columnsFingerprint, formTitle, orderKeys, type Report, rowToSchema } from "./field-rows.ts";
import { type LogicFields, logicFieldOf } from "./fields.ts";
import { pipingFromRedcap, translateSchemaTexts } from "./piping.ts";
import { toJsonLogic } from "./to-json-logic.ts";

// Also the export's (export-dictionary.ts imports them from field-rows.ts: importing this module would load the checker).
export { columnsFingerprint, formTitle };

/**
 * A REDCap data dictionary → instruments. The first row is REDCap's record id
 * (the engine's subject id), not a data field: its name, form and label are
 * returned, not imported. Every cell that is not translated as it stands is in
 * the report, by form, field and column.
 */

export interface RecordId {
  field: string;
  form: string;
  label: string;
}

export interface ImportResult {
  instruments: Record<string, Instrument>;
  recordIdField: string;
  recordId?: RecordId;
  /** Forms in dictionary order (a form holding only the record id is listed, but is no instrument). */
  formOrder: string[];
  report: Issue[];
}

const NAME = new RegExp(FIELD_NAME_PATTERN);

interface Pending {
  /** The engine's name (REDCap's, unless @X-SCHEMA's "$name" says otherwise). */
  name: string;
  redcapName: string;
  form: string;
  row: Row;
  schema: FieldSchema;
  calc?: string;
  /** `calc` holds @CALCDATE's arguments. */
  calcDate?: boolean;
  overlay?: Record<string, unknown>;
}

/**
 * REDCap's first field is the record id, always a text field. A file whose
 * first field is another type is one instrument without it (as REDCap's
 * instrument library gives them): every row is then a field.
 */
function readRecordId(first: Row, report: Issue[]): RecordId | undefined {
  const recordId: RecordId = {
    field: first["Variable / Field Name"].trim(),
    form: first["Form Name"].trim(),
    label: first["Field Label"],
  };
  const type = first["Field Type"].trim().toLowerCase();
  if (type !== "text") {
    report.push({
      form: recordId.form,
      field: recordId.field,
      column: "Field Type",
      severity: "warning",
      message: `the first field is a ${type} field, so not REDCap's record id (a text field): read as an instrument without one`,
    });
    return undefined;
  }
  const kept = new Set<Column>(["Variable / Field Name", "Form Name", "Field Label", "Field Type"]);
  for (const [column, value] of Object.entries(first) as [Column, string][]) {
    if (!kept.has(column) && value.trim() !== "") {
      report.push({
        form: recordId.form,
        field: recordId.field,
        column,
        severity: "warning",
        message: `the record id (the engine's subject id) keeps only its name, form and label: "${value}" is not kept`,
      });
    }
  }
  return recordId;
}

export function importDictionary(csvText: string): ImportResult {
  const { rows, issues } = readRows(csvText);
  const report: Issue[] = [...issues];
  const result: ImportResult = { instruments: {}, recordIdField: "", formOrder: [], report };
  if (issues.some((i) => i.severity === "error" && i.field === "")) return result;
  if (rows.length === 0) {
    report.push({
      form: "",
      field: "",
      column: "",
      severity: "error",
      message: "the dictionary has no fields",
    });
    return result;
  }

  const recordId = readRecordId(rows[0] as Row, report);
  const rest = recordId ? rows.slice(1) : rows;
  if (recordId) {
    result.recordIdField = recordId.field;
    result.recordId = recordId;
  }

  const forms: string[] = [];
  const seen = new Set<string>(recordId ? [recordId.field] : []);
  const pending: Pending[] = [];
  const instrumentTags = new Map<string, Record<string, unknown>>();
  const required = new Map<string, string[]>();
  if (recordId && recordId.form !== "") forms.push(recordId.form);

  for (const row of rest) {
    const name = row["Variable / Field Name"].trim();
    const form = row["Form Name"].trim();
    const reportAt: Report = (column, severity, message) => {
      report.push({ form, field: name, column, severity, message });
    };
    if (!NAME.test(name)) {
      reportAt(
        "Variable / Field Name",
        "error",
        `"${name}" is not a valid field name (lowercase letters, digits, _): not imported`,
      );
      continue;
    }
    if (!NAME.test(form)) {
      reportAt(
        "Form Name",
        "error",
        `"${form}" is not a valid form name (lowercase letters, digits, _): not imported`,
      );
      continue;
    }
    if (seen.has(name)) {
      reportAt("Variable / Field Name", "error", `"${name}" appears twice: the second is not imported`);
      continue;
    }
    seen.add(name);
    if (!forms.includes(form)) forms.push(form);
    const meaning = rowToSchema(row, reportAt);
    const annotation = readAnnotation(row["Field Annotation"], { charLimit: false });
    for (const problem of annotation.problems) reportAt("Field Annotation", "error", problem);
    if (annotation.instrument && !instrumentTags.has(form)) instrumentTags.set(form, annotation.instrument);
    if (!meaning) continue;
    let engineName = name;
    const renamed = annotation.schema?.$name;
    if (typeof renamed === "string" && NAME.test(renamed)) engineName = renamed;
    if (pending.some((p) => p.form === form && p.name === engineName)) {
      reportAt(
        "Variable / Field Name",
        "error",
        `instrument "${form}" already has a field "${engineName}": not imported`,
      );
      continue;
    }
    if (/^y(es)?$|^1$/i.test(row["Required Field?"].trim())) {
      required.set(form, [...(required.get(form) ?? []), engineName]);
    }
    pending.push({
      name: engineName,
      redcapName: name,
      form,
      row,
      schema: meaning.schema,
      calc: meaning.calc,
      calcDate: meaning.calcDate,
      overlay: annotation.schema,
    });
  }
  result.formOrder = forms;

  // Kinds first: logic may read fields further down or on other forms.
  const fields: LogicFields = {};
  for (const p of pending) {
    fields[p.redcapName] = {
      ...logicFieldOf(p.schema, p.form),
      ...(p.name !== p.redcapName ? { name: p.name } : {}),
    };
  }
  for (const p of pending) {
    const reportAt: Report = (column, severity, message) => {
      report.push({ form: p.form, field: p.name, column, severity, message });
    };
    applyOverlay(p, reportAt);
    translateLogic(p, fields, reportAt);
    translateSchemaTexts(p.schema, (text, column) =>
      pipingFromRedcap(text, fields, p.form, (message) => reportAt(column, "warning", message)),
    );
    p.schema = orderKeys(p.schema);
  }

  for (const form of forms) {
    const own = pending.filter((p) => p.form === form);
    if (own.length === 0) {
      if (form !== recordId?.form) continue;
      report.push({
        form,
        field: "",
        column: "Form Name",
        severity: "warning",
        message: `form "${form}" holds only the record id: it is not an instrument (export it back with recordIdForm)`,
      });
      continue;
    }
    result.instruments[form] = buildInstrument(
      form,
      own,
      required.get(form) ?? [],
      instrumentTags.get(form),
      report,
    );
  }
  report.push(...engineCheck(result.instruments, pending));
  return result;
}

/** @X-SCHEMA: keywords REDCap has no column for, applied unless the spreadsheet changed what they depend on. */
function applyOverlay(p: Pending, report: Report): void {
  const overlay = p.overlay;
  if (!overlay) return;
  const cols = (overlay.$cols ?? {}) as Record<string, string>;
  const schema = p.schema as Record<string, unknown>;
  const skipped: string[] = [];
  for (const [keyword, value] of Object.entries(overlay)) {
    if (keyword === "$cols" || keyword === "$name") continue;
    const expected = cols[keyword];
    if (expected !== undefined && columnsFingerprint(p.row, keyword) !== expected) {
      skipped.push(keyword);
      continue;
    }
    if (value === null) delete schema[keyword];
    else schema[keyword] = value;
  }
  if (skipped.length > 0) {
    report(
      "Field Annotation",
      "warning",
      `changed in the spreadsheet since export, so the columns win over @X-SCHEMA for ${skipped.join(", ")}`,
    );
  }
}

function translateLogic(p: Pending, fields: LogicFields, report: Report): void {
  const schema = p.schema;
  const branching = p.row["Branching Logic (Show field only if...)"].trim();
  if (branching !== "" && schema["x-visible-if"] === undefined) {
    const r = toJsonLogic(branching, fields, { form: p.form, as: "condition" });
    if ("error" in r) {
      // Kept with REDCap's text so it exports back as written; the engine shows the field always.
      schema["x-visible-if-redcap"] = branching;
      report(
        "Branching Logic (Show field only if...)",
        "error",
        `not translated: ${r.error}; the field is always shown, its REDCap text in x-visible-if-redcap`,
      );
    } else {
      schema["x-visible-if"] = r.logic;
      for (const w of r.warnings) report("Branching Logic (Show field only if...)", "warning", w);
    }
  }
  if (p.calc !== undefined && schema["x-calc"] === undefined) {
    // A computed text or date (@CALCTEXT, @CALCDATE) is written in its annotation.
    const column = schema.type === "string" ? "Field Annotation" : "Choices, Calculations, OR Slider Labels";
    if (p.calc.trim() === "") {
      report(column, "error", "the calculated field has no calculation");
      return;
    }
    const r = p.calcDate
      ? toJsonLogic(`calcdate(${p.calc})`, fields, { form: p.form, as: "value", calcDate: true })
      : toJsonLogic(p.calc, fields, { form: p.form, as: "value" });
    if ("error" in r) {
      // Kept read-only with REDCap's text: never an editable field, and it exports back as written.
      schema["x-calc-redcap"] = p.calc;
      report(
        column,
        "error",
        `calculation not translated: ${r.error}; the field is kept read-only and empty, its REDCap text in x-calc-redcap`,
      );
    } else {
      schema["x-calc"] = r.logic;
      for (const w of r.warnings) report(column, "warning", w);
    }
  }
}

const INSTRUMENT_TAG_KEYS = ["title", "description", "x-repeating", "x-rules"] as const;

function buildInstrument(
  form: string,
  own: Pending[],
  required: string[],
  tag: Record<string, unknown> | undefined,
  report: Issue[],
): Instrument {
  const unknown = Object.keys(tag ?? {}).filter(
    (k) => !(INSTRUMENT_TAG_KEYS as readonly string[]).includes(k),
  );
  if (unknown.length > 0) {
    report.push({
      form,
      field: "",
      column: "Field Annotation",
      severity: "error",
      message: `@X-INSTRUMENT: unknown ${unknown.join(", ")}`,
    });
  }
  const title = typeof tag?.title === "string" && tag.title !== "" ? tag.title : formTitle(form);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: form,
    title,
    ...(typeof tag?.description === "string" ? { description: tag.description } : {}),
    type: "object",
    additionalProperties: false,
    ...(typeof tag?.["x-repeating"] === "boolean" ? { "x-repeating": tag["x-repeating"] } : {}),
    properties: Object.fromEntries(own.map((p) => [p.name, p.schema])),
    ...(required.length > 0 ? { required } : {}),
    ...(Array.isArray(tag?.["x-rules"]) ? { "x-rules": tag["x-rules"] as CrossFieldRule[] } : {}),
  };
}

const COLUMN_OF: Record<string, Column> = {
  "x-visible-if": "Branching Logic (Show field only if...)",
  "x-visible-if-redcap": "Branching Logic (Show field only if...)",
  "x-calc": "Choices, Calculations, OR Slider Labels",
  "x-calc-redcap": "Choices, Calculations, OR Slider Labels",
  oneOf: "Choices, Calculations, OR Slider Labels",
  items: "Choices, Calculations, OR Slider Labels",
  enum: "Choices, Calculations, OR Slider Labels",
  title: "Field Label",
  description: "Field Note",
  "x-section": "Section Header",
  minimum: "Text Validation Min",
  maximum: "Text Validation Max",
  "x-soft-minimum": "Text Validation Min",
  "x-soft-maximum": "Text Validation Max",
  format: "Text Validation Type OR Show Slider Number",
  pattern: "Text Validation Type OR Show Slider Number",
  "x-matrix": "Matrix Group Name",
  "x-annotation": "Field Annotation",
  type: "Field Type",
  readOnly: "Field Type",
  "x-widget": "Field Type",
};

/** What the engine's own definition check says about the imported instruments, as report entries. */
function engineCheck(instruments: Record<string, Instrument>, pending: Pending[]): Issue[] {
  const ids = Object.keys(instruments);
  if (ids.length === 0) return [];
  const study: StudyFile = {
    id: "redcap-import",
    title: "REDCap import",
    arms: [{ id: "arm_1", label: "Arm 1" }],
    sites: [{ id: "site", name: "Site", code: "01" }],
    subjectIdPattern: ".+",
    dayOne: { event: "visit", form: ids[0] as string, field: "" },
    events: [{ id: "visit", label: "Visit", forms: ids }],
    logs: [],
  };
  const files: SourceFile[] = ids.map((id) => ({ path: `instruments/${id}.json`, json: instruments[id] }));
  const { errors } = checkDefinition({ study: { path: "study.json", json: study }, instruments: files });
  const out: Issue[] = [];
  for (const e of errors) {
    if (e.file === "study.json") continue;
    // A dictionary has no events: a pipe from one is checked when the project (with its events) is imported.
    if (e.message.startsWith("piped event ")) continue;
    const form = e.file.replace(/^instruments\//, "").replace(/\.json$/, "");
    const segments = e.pointer
      .split("/")
      .slice(1)
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    let field = "";
    let column: Column | "" = "";
    if (segments[0] === "properties" && segments[1] !== undefined) {
      field = segments[1];
      column = COLUMN_OF[segments[2] ?? ""] ?? "";
    } else if (segments[0] === "required") {
      field = instruments[form]?.required?.[Number(segments[1])] ?? "";
      column = "Required Field?";
    }
    if (field !== "" && !pending.some((p) => p.name === field)) field = "";
    out.push({ form, field, column, severity: "error", message: `engine check: ${e.message}` });
  }
  return out;
}
