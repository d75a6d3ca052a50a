import { parseDateText } from "../date-text.ts";
import type { Choice, ChoiceCode, FieldSchema } from "../definition.ts";
import { FIELD_KEYWORDS, FIELD_NAME_PATTERN, type FieldKeyword } from "../meta/instrument-schema.ts";
import { safeHtml } from "../safe-html.ts";
import { isDateFormat, readActionTags, takeCalcTag } from "./action-tags.ts";
import { fingerprint, readAnnotation } from "./annotation.ts";
import { type Column, emptyRow, type Row } from "./columns.ts";
import { pipingToRedcap } from "./piping.ts";
import { isNumeric } from "./syntax.ts";
import { VALIDATION_TYPES, validationOf, validationSchema } from "./validation-types.ts";

/**
 * One dictionary row ⇄ one field schema, column by column, as REDCap means
 * them. Branching logic and calculations are translated elsewhere (they need
 * every field of the dictionary); so are the @X- tags.
 */

export type Report = (column: Column | "", severity: "error" | "warning", message: string) => void;

/** Columns the engine deliberately does not keep (matrix ranking). */
export const DROPPED_COLUMNS: readonly Column[] = ["Matrix Ranking?"];

/** REDCap's custom alignments: label left or right of the control, choices horizontal or vertical. */
export const ALIGNMENTS = ["LH", "LV", "RH", "RV"] as const;

/** The columns that say a field's type, choices and widget. */
const TYPE_COLUMNS: readonly Column[] = [
  "Field Type",
  "Choices, Calculations, OR Slider Labels",
  "Text Validation Type OR Show Slider Number",
];
/** Keywords read from the type columns alone. */
const TYPE_KEYWORDS: readonly FieldKeyword[] = [
  "type",
  "format",
  "pattern",
  "enum",
  "oneOf",
  "items",
  "uniqueItems",
  "readOnly",
  "x-widget",
  "x-file",
  "x-slider",
  "x-text-validation",
  "x-format",
];

const SOFT_OF = { minimum: "x-soft-minimum", maximum: "x-soft-maximum" } as const;

/** Which columns each schema keyword is read from: an @X-SCHEMA value for it applies only while they are unchanged. */
export const KEYWORD_COLUMNS: Readonly<Partial<Record<string, readonly Column[]>>> = {
  ...Object.fromEntries(TYPE_KEYWORDS.map((k) => [k, TYPE_COLUMNS])),
  title: ["Field Label"],
  description: ["Field Note"],
  "x-section": ["Section Header"],
  "x-identifier": ["Identifier?"],
  "x-matrix": ["Matrix Group Name"],
  "x-annotation": ["Field Annotation"],
  "x-visible-if": ["Branching Logic (Show field only if...)"],
  "x-calc": ["Field Type", "Choices, Calculations, OR Slider Labels"],
  minimum: ["Text Validation Min", "Text Validation Type OR Show Slider Number", "Field Type"],
  maximum: ["Text Validation Max", "Text Validation Type OR Show Slider Number", "Field Type"],
  "x-soft-minimum": ["Text Validation Min", "Text Validation Type OR Show Slider Number", "Field Type"],
  "x-soft-maximum": ["Text Validation Max", "Text Validation Type OR Show Slider Number", "Field Type"],
  "x-text-validation-min": ["Text Validation Min"],
  "x-text-validation-max": ["Text Validation Max"],
  "x-date-min": ["Text Validation Min", "Text Validation Type OR Show Slider Number"],
  "x-date-max": ["Text Validation Max", "Text Validation Type OR Show Slider Number"],
  maxLength: ["Field Annotation", "Field Type"],
  "x-hidden": ["Field Annotation"],
  "x-readonly": ["Field Annotation"],
  "x-default": ["Field Annotation", ...TYPE_COLUMNS],
  "x-set-value": ["Field Annotation", ...TYPE_COLUMNS],
  "x-none-of-the-above": ["Field Annotation", ...TYPE_COLUMNS],
} satisfies Partial<Record<FieldKeyword, readonly Column[]>>;

const KEYWORD_RANK = new Map<string, number>(FIELD_KEYWORDS.map((k, i) => [k, i]));

/** Field keywords in the order instrument files list them. */
export function orderKeys(schema: FieldSchema): FieldSchema {
  const rank = (k: string) => KEYWORD_RANK.get(k) ?? FIELD_KEYWORDS.length;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => rank(a) - rank(b)),
  ) as FieldSchema;
}

// ---------------------------------------------------------------------------
// Choices

function codeType(codes: string[]): "integer" | "number" | "string" {
  const canonical = (c: string) => isNumeric(c) && String(Number(c)) === c;
  if (codes.length > 0 && codes.every((c) => canonical(c) && Number.isInteger(Number(c)))) return "integer";
  if (codes.length > 0 && codes.every(canonical)) return "number";
  return "string";
}

function readChoices(
  text: string,
  report: Report,
): { type: "integer" | "number" | "string"; choices: Choice[] } {
  const column = "Choices, Calculations, OR Slider Labels";
  const items = text
    .split("|")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) {
    report(column, "error", 'a choice field needs choices ("1, Yes | 0, No")');
    return { type: "string", choices: [] };
  }
  const raw = items.map((item) => {
    const comma = item.indexOf(",");
    if (comma === -1) {
      report(column, "error", `choice "${item}" has no code ("code, label"): "${item}" is used as both`);
      return { code: item, title: item };
    }
    const code = item.slice(0, comma).trim();
    const title = item.slice(comma + 1).trim();
    if (title === "") report(column, "error", `choice "${code}" has no label: the code is used as its label`);
    return { code, title: title === "" ? code : title };
  });
  const type = codeType(raw.map((r) => r.code));
  const choices = raw.map((r) => ({ const: type === "string" ? r.code : Number(r.code), title: r.title }));
  return { type, choices };
}

function writeChoices(choices: readonly { const: ChoiceCode; title: string }[]): string {
  return choices.map((c) => `${c.const}, ${c.title}`).join(" | ");
}

// ---------------------------------------------------------------------------
// Row → schema

function readBound(text: string, comma: boolean): number | undefined {
  const t = comma ? text.trim().replace(",", ".") : text.trim();
  return isNumeric(t) ? Number(t) : undefined;
}

/** REDCap's date bounds ("today" or Y-M-D, whatever the field's display order) are the engine's x-date-min/max. */
function readDateBound(text: string): string | undefined {
  if (text === "today") return text;
  const parsed = parseDateText(text);
  return parsed.ok && /^\d{4}-/.test(text) ? parsed.value : undefined;
}

export interface RowMeaning {
  schema: FieldSchema;
  /** The calculation as written, for calc fields (the inside of @CALCTEXT(…) / @CALCDATE(…) for text ones). */
  calc?: string;
  /** `calc` holds @CALCDATE's arguments (date, offset, unit). */
  calcDate?: boolean;
}

/**
 * The schema a row means, without its branching logic, calculation or @X-
 * tags; undefined for field types the engine does not support. The action
 * tags the engine acts on become keywords (redcap/action-tags.ts).
 */
export function rowToSchema(row: Row, report: Report): RowMeaning | undefined {
  const meaning = rowToBaseSchema(row, report);
  if (!meaning) return undefined;
  const { schema } = meaning;
  const validation = row["Text Validation Type OR Show Slider Number"].trim();
  const comma = VALIDATION_TYPES[validation]?.comma ?? false;
  let annotation = schema["x-annotation"] ?? "";
  const calcTag = schema.type === "string" ? takeCalcTag(annotation) : undefined;
  let computed: Pick<RowMeaning, "calc" | "calcDate"> = {};
  // @CALCDATE on a date field, @CALCTEXT on any other text: a field the engine computes, read-only.
  if (calcTag && (calcTag.tag === "@CALCDATE") === isDateFormat(schema.format)) {
    schema.readOnly = true;
    annotation = calcTag.rest;
    computed = { calc: calcTag.expr, ...(calcTag.tag === "@CALCDATE" ? { calcDate: true } : {}) };
    if (/^\s*\)/.test(calcTag.rest))
      report(
        "Field Annotation",
        "warning",
        `a stray ")" follows ${calcTag.tag}(…): kept in the annotation, written back after the tag`,
      );
  }
  const rest = readActionTags(schema, annotation, report, { comma });
  if (rest === "") delete schema["x-annotation"];
  else schema["x-annotation"] = rest;
  return { ...meaning, ...computed, schema: orderKeys(schema) };
}

function rowToBaseSchema(row: Row, report: Report): RowMeaning | undefined {
  const type = row["Field Type"].trim().toLowerCase();
  const label = row["Field Label"];
  const validation = row["Text Validation Type OR Show Slider Number"].trim();
  const choicesText = row["Choices, Calculations, OR Slider Labels"];
  const schema: FieldSchema = { title: label };
  if (label.trim() === "") {
    report("Field Label", "error", "the field has no label: its name is used as the title");
    schema.title = row["Variable / Field Name"].trim();
  }
  const note = row["Field Note"];
  if (note.trim() !== "") schema.description = note;
  const section = row["Section Header"];
  if (section.trim() !== "") schema["x-section"] = section;
  // The text is kept as written (it exports back unchanged); the page shows only a safe subset of its HTML.
  for (const column of ["Field Label", "Field Note", "Section Header"] as const) {
    const { dropped } = safeHtml(row[column]);
    if (dropped.length > 0)
      report(
        column,
        "warning",
        `the page does not show ${dropped.join(", ")} (only b, i, u, em, strong, br, p and span without attributes)`,
      );
  }
  if (/^y(es)?$|^1$/i.test(row["Identifier?"].trim())) schema["x-identifier"] = true;
  const matrix = row["Matrix Group Name"].trim();
  if (matrix !== "") {
    if (new RegExp(FIELD_NAME_PATTERN).test(matrix)) schema["x-matrix"] = matrix;
    else report("Matrix Group Name", "error", `"${matrix}" is not a valid matrix group name`);
  }
  const stringLike = type === "text" || type === "notes";
  const annotation = readAnnotation(row["Field Annotation"], { charLimit: stringLike });
  if (annotation.text !== "") schema["x-annotation"] = annotation.text;
  if (annotation.charLimit !== undefined) schema.maxLength = annotation.charLimit;
  const questionNumber = row["Question Number (surveys only)"].trim();
  if (questionNumber !== "") schema["x-question-number"] = questionNumber;
  const align = row["Custom Alignment"].trim();
  if ((ALIGNMENTS as readonly string[]).includes(align))
    schema["x-align"] = align as (typeof ALIGNMENTS)[number];
  else if (align !== "")
    report(
      "Custom Alignment",
      "warning",
      `"${align}" is not one of REDCap's alignments (LH, LV, RH, RV): not kept`,
    );
  for (const column of DROPPED_COLUMNS) {
    const value = row[column].trim();
    if (value !== "")
      report(
        column,
        "warning",
        `"${value}" is not kept: the engine has no ${column.toLowerCase().replace(/\?$/, "")}`,
      );
  }
  // REDCap's min/max of a text field only warn (the value is saved once confirmed): the soft range.
  // A slider's are its scale, hard. Date bounds stay hard (x-date-min/max), as before soft ranges.
  const bounds = (comma: boolean, numeric: boolean, soft = true) => {
    for (const [column, keyword, verbatim] of [
      ["Text Validation Min", "minimum", "x-text-validation-min"],
      ["Text Validation Max", "maximum", "x-text-validation-max"],
    ] as const) {
      const text = row[column].trim();
      if (text === "") continue;
      const n = numeric ? readBound(text, comma) : undefined;
      const dateBound = schema.format === "date" ? readDateBound(text) : undefined;
      if (n !== undefined) schema[soft ? SOFT_OF[keyword] : keyword] = n;
      else if (dateBound !== undefined)
        schema[keyword === "minimum" ? "x-date-min" : "x-date-max"] = dateBound;
      else {
        schema[verbatim] = text;
        report(column, "warning", `"${text}" is kept verbatim but not enforced by the engine`);
      }
    }
  };
  const noValidation = () => {
    if (validation !== "")
      report(
        "Text Validation Type OR Show Slider Number",
        "warning",
        `"${validation}" does not apply to a ${type} field and is not kept`,
      );
  };
  switch (type) {
    case "text": {
      if (validation === "") {
        schema.type = "string";
        bounds(false, false);
        break;
      }
      const spec = VALIDATION_TYPES[validation];
      Object.assign(schema, validationSchema(validation));
      if (!spec)
        report(
          "Text Validation Type OR Show Slider Number",
          "warning",
          `unknown validation "${validation}" kept in x-text-validation, not enforced`,
        );
      else if (spec.notEnforced)
        report("Text Validation Type OR Show Slider Number", "warning", spec.notEnforced);
      bounds(spec?.comma ?? false, schema.type === "number" || schema.type === "integer");
      break;
    }
    case "notes":
      noValidation();
      schema.type = "string";
      schema["x-widget"] = "textarea";
      break;
    case "radio":
    case "dropdown": {
      const { type: t, choices } = readChoices(choicesText, report);
      schema.type = t;
      schema.oneOf = choices;
      if (type === "radio") {
        noValidation();
        schema["x-widget"] = "radio";
      } else if (validation === "autocomplete") schema["x-widget"] = "autocomplete";
      else {
        noValidation();
        schema["x-widget"] = "select";
      }
      break;
    }
    case "checkbox": {
      noValidation();
      const { type: t, choices } = readChoices(choicesText, report);
      schema.type = "array";
      schema.items = { type: t === "string" ? "string" : "integer", oneOf: choices };
      if (t === "number") {
        report(
          "Choices, Calculations, OR Slider Labels",
          "error",
          "checkbox codes with decimals are not supported: kept as text codes",
        );
        schema.items = { type: "string", oneOf: choices.map((c) => ({ ...c, const: String(c.const) })) };
      }
      schema.uniqueItems = true;
      schema["x-widget"] = "checkbox";
      break;
    }
    case "yesno":
    case "truefalse":
      noValidation();
      schema.type = "boolean";
      schema["x-widget"] = type;
      break;
    case "calc":
      schema.type = "number";
      schema.readOnly = true;
      if (validation !== "") schema["x-text-validation"] = validation;
      return { schema, calc: choicesText };
    case "slider": {
      schema.type = "integer";
      schema.minimum = 0;
      schema.maximum = 100;
      bounds(false, true, false);
      schema["x-widget"] = "slider";
      const labels = choicesText.trim() === "" ? [] : choicesText.split("|").map((s) => s.trim());
      const slider: FieldSchema["x-slider"] = {};
      if (labels.length > 3)
        report(
          "Choices, Calculations, OR Slider Labels",
          "error",
          "a slider has at most 3 labels: the rest are dropped",
        );
      if (labels.length > 0) slider.labels = labels.slice(0, 3);
      if (validation === "number") slider.showNumber = true;
      else if (validation !== "") noValidation();
      if (Object.keys(slider).length > 0) schema["x-slider"] = slider;
      break;
    }
    case "descriptive":
      noValidation();
      for (const k of ["x-identifier", "maxLength", "x-matrix"] as const) delete schema[k];
      schema.type = "null";
      schema["x-widget"] = "descriptive";
      break;
    case "file":
      // REDCap limits uploads per project, not per field: the engine's default limit applies.
      for (const k of ["maxLength", "x-matrix"] as const) delete schema[k];
      schema.type = "object";
      schema["x-file"] = {};
      if (validation === "signature") schema["x-widget"] = "signature";
      else noValidation();
      break;
    case "sql":
      report(
        "Field Type",
        "error",
        `field type "sql" (dynamic query) is not supported: the field is not imported`,
      );
      return undefined;
    default:
      report("Field Type", "error", `unknown field type "${row["Field Type"]}": the field is not imported`);
      return undefined;
  }
  return { schema: orderKeys(schema) };
}

// ---------------------------------------------------------------------------
// Schema → row

function redcapType(schema: FieldSchema): string {
  const widget = schema["x-widget"];
  if (schema.type === "null" || widget === "descriptive") return "descriptive";
  if (schema["x-file"] !== undefined) return "file";
  // A computed text or date is a text field with @CALCTEXT / @CALCDATE (action-tags.ts).
  if ((schema["x-calc"] !== undefined || schema["x-calc-redcap"] !== undefined) && schema.type !== "string")
    return "calc";
  if (schema.type === "array") return "checkbox";
  if (schema.type === "boolean") return widget === "truefalse" ? "truefalse" : "yesno";
  if (widget === "slider") return "slider";
  const choices = schema.oneOf ?? schema.enum;
  if (choices) {
    if (widget === "radio") return "radio";
    if (widget === "select" || widget === "autocomplete") return "dropdown";
    return choices.length <= 5 && schema.oneOf ? "radio" : "dropdown";
  }
  if (widget === "textarea") return "notes";
  return "text";
}

function writeBound(n: number, validation: string): string {
  const text = String(n);
  return VALIDATION_TYPES[validation]?.comma ? text.replace(".", ",") : text;
}

/** The row for a field, without branching logic, calculation, required flag or @X- tags. */
export function schemaToRow(
  name: string,
  form: string,
  schema: FieldSchema,
  pipe: (text: string) => string = (text) => pipingToRedcap(text),
): Row {
  const row = emptyRow();
  const type = redcapType(schema);
  row["Variable / Field Name"] = name;
  row["Form Name"] = form;
  row["Section Header"] = pipe(schema["x-section"] ?? "");
  row["Field Type"] = type;
  row["Field Label"] = pipe(schema.title ?? name);
  row["Field Note"] = pipe(schema.description ?? "");
  row["Identifier?"] = schema["x-identifier"] === true ? "y" : "";
  row["Matrix Group Name"] = schema["x-matrix"] ?? "";
  row["Question Number (surveys only)"] = schema["x-question-number"] ?? "";
  row["Custom Alignment"] = schema["x-align"] ?? "";
  const choices =
    schema.oneOf ?? schema.items?.oneOf ?? schema.enum?.map((v) => ({ const: v, title: String(v) }));
  let validation = "";
  if (type === "radio" || type === "dropdown" || type === "checkbox") {
    row["Choices, Calculations, OR Slider Labels"] = writeChoices(
      (choices ?? []).map((c) => ({ ...c, title: pipe(c.title) })),
    );
    if (type === "dropdown" && schema["x-widget"] === "autocomplete") validation = "autocomplete";
  } else if (type === "slider") {
    row["Choices, Calculations, OR Slider Labels"] = (schema["x-slider"]?.labels ?? []).join(" | ");
    if (schema["x-slider"]?.showNumber) validation = "number";
  } else if (type === "text") validation = validationOf(schema);
  else if (type === "calc") validation = schema["x-text-validation"] ?? "";
  else if (type === "file" && schema["x-widget"] === "signature") validation = "signature";
  row["Text Validation Type OR Show Slider Number"] = validation;
  const isDefault = (k: "minimum" | "maximum") =>
    type === "slider" && schema[k] === (k === "minimum" ? 0 : 100);
  for (const [column, keyword, verbatim] of [
    ["Text Validation Min", "minimum", "x-text-validation-min"],
    ["Text Validation Max", "maximum", "x-text-validation-max"],
  ] as const) {
    const n = (type === "text" ? schema[SOFT_OF[keyword]] : undefined) ?? schema[keyword];
    const dateBound = schema[keyword === "minimum" ? "x-date-min" : "x-date-max"];
    if (n !== undefined && !isDefault(keyword) && (type === "text" || type === "slider"))
      row[column] = writeBound(n, validation);
    // REDCap has no "study-start": that bound travels in @X-SCHEMA instead.
    else if (dateBound !== undefined && dateBound !== "study-start" && type === "text")
      row[column] = dateBound;
    else if (schema[verbatim] !== undefined) row[column] = schema[verbatim] as string;
  }
  return row;
}

/** "baseline_data" → "Baseline data": REDCap keeps form labels outside the dictionary. */
export function formTitle(form: string): string {
  const words = form.replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The fingerprint of the columns a keyword is read from, as @X-SCHEMA's "$cols" stores it. */
export function columnsFingerprint(row: Row, keyword: string): string | undefined {
  const columns = KEYWORD_COLUMNS[keyword];
  if (!columns) return undefined;
  return fingerprint(
    columns.map((c) =>
      c === "Field Annotation" ? readAnnotation(row[c], { charLimit: false }).text : row[c],
    ),
  );
}
