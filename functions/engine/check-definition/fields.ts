import { parseDateText } from "../date-text.ts";
import type { FieldSchema } from "../definition.ts";
import { SIGNATURE_MEDIA_TYPE } from "../file-fields.ts";
import { DESCRIPTIVE_KEYWORDS, KEYWORD_TYPES } from "../meta/instrument-schema.ts";
import { patternProblem } from "../pattern.ts";
import { checkActionTags } from "./action-tags.ts";
import { duplicates, reservedName } from "./helpers.ts";
import { join } from "./pointers.ts";
import type { Reporter } from "./types.ts";

/** One field schema: keywords that fit its type and widget, choices, date bounds, calculations. */

const WIDGET_TYPES: Record<string, readonly string[]> = {
  text: ["string", "number", "integer"],
  textarea: ["string"],
  radio: ["string", "number", "integer", "boolean"],
  select: ["string", "number", "integer"],
  autocomplete: ["string", "number", "integer"],
  checkbox: ["array", "boolean"],
  yesno: ["boolean"],
  truefalse: ["boolean"],
  slider: ["number", "integer"],
  descriptive: ["null"],
  file: ["object"],
  signature: ["object"],
};

function codeMatchesType(code: unknown, type: string | undefined): boolean {
  switch (type) {
    case "string":
      return typeof code === "string";
    case "integer":
      return Number.isInteger(code);
    case "number":
      return typeof code === "number";
    default:
      return true;
  }
}

function checkChoices(
  choices: readonly { const: unknown; title: string }[],
  type: string | undefined,
  at: string,
  report: Reporter,
): void {
  choices.forEach((c, i) => {
    reservedName(c.const, "choice code", join(at, i, "const"), report);
    if (!codeMatchesType(c.const, type)) {
      report(
        join(at, i, "const"),
        `choice code ${JSON.stringify(c.const)} is not of the field's type ${type}`,
      );
    }
  });
  duplicates(
    choices,
    (c) => c.const,
    (i, v) => report(join(at, i, "const"), `duplicate choice code ${JSON.stringify(v)}`),
  );
  duplicates(
    choices,
    (c) => c.title.trim().toLowerCase(),
    (i) => report(join(at, i, "title"), `duplicate choice label "${choices[i]?.title}"`),
  );
}

/** A date bound is "today" or a real calendar day (the meta-schema checks the shape), min ≤ max. */
function checkDateBounds(field: FieldSchema, at: string, report: Reporter): void {
  const bounds = (["x-date-min", "x-date-max"] as const).filter((k) => field[k] !== undefined);
  for (const keyword of bounds) {
    const bound = field[keyword] as string;
    if (field.format !== "date")
      report(join(at, keyword), `"${keyword}" needs a field with "format": "date"`);
    else if (bound !== "today" && bound !== "study-start" && !parseDateText(bound).ok)
      report(join(at, keyword), `"${bound}" is not a day of the calendar`);
  }
  const [min, max] = [field["x-date-min"], field["x-date-max"]];
  const symbolic = (b: string) => b === "today" || b === "study-start";
  if (min && max && !symbolic(min) && !symbolic(max) && min > max)
    report(join(at, "x-date-max"), `"${max}" is before its minimum "${min}"`);
}

/** A soft range lies inside the hard one (a warning the save could never reach is a slip), min ≤ max. */
function checkSoftRange(field: FieldSchema, at: string, report: Reporter): void {
  const softLo = field["x-soft-minimum"];
  const softHi = field["x-soft-maximum"];
  if (softLo !== undefined && softHi !== undefined && softLo > softHi)
    report(join(at, "x-soft-maximum"), `soft maximum ${softHi} is below soft minimum ${softLo}`);
  const hardLo = field.minimum ?? field.exclusiveMinimum;
  const hardHi = field.maximum ?? field.exclusiveMaximum;
  for (const [keyword, soft] of [
    ["x-soft-minimum", softLo],
    ["x-soft-maximum", softHi],
  ] as const) {
    if (soft === undefined) continue;
    if ((hardLo !== undefined && soft < hardLo) || (hardHi !== undefined && soft > hardHi))
      report(
        join(at, keyword),
        `soft bound ${soft} lies outside the hard range (${hardLo ?? "…"} to ${hardHi ?? "…"}): no value could reach it`,
      );
  }
}

/** A file field is `"type": "object"` with `"x-file"`, and only that: an object holds nothing else. */
function checkFileField(name: string, field: FieldSchema, at: string, report: Reporter): void {
  const type = field.type ?? "";
  if (type === "object" && field["x-file"] === undefined)
    report(at, `"type": "object" is only for file fields: "${name}" needs "x-file"`);
  const widget = field["x-widget"];
  if (widget === "signature") {
    const types = field["x-file"]?.mediaTypes;
    if (types !== undefined && (types.length !== 1 || types[0] !== SIGNATURE_MEDIA_TYPE))
      report(
        join(at, "x-file", "mediaTypes"),
        `a drawn signature is stored as ${SIGNATURE_MEDIA_TYPE}: leave "mediaTypes" out or make it ["${SIGNATURE_MEDIA_TYPE}"]`,
      );
  }
  if (type !== "object") return;
  for (const keyword of ["x-calc", "x-matrix", "enum", "oneOf"] as const) {
    if (field[keyword] !== undefined)
      report(join(at, keyword), `"${keyword}" does not apply to a file field`);
  }
}

export function checkField(name: string, field: FieldSchema, at: string, report: Reporter): void {
  checkFileField(name, field, at, report);
  const type = field.type ?? "";
  for (const [keyword, types] of Object.entries(KEYWORD_TYPES)) {
    if (keyword in field && !types.some((t) => t === type)) {
      report(join(at, keyword), `"${keyword}" does not apply to a field of type ${type}`);
    }
  }
  if (type === "array") {
    if (!field.items) report(at, `multiple-choice field "${name}" needs "items" with "oneOf" choices`);
    if (field.uniqueItems !== true)
      report(join(at, "uniqueItems"), `multiple-choice field "${name}" needs "uniqueItems": true`);
  }
  if (field.oneOf && field.enum) report(join(at, "enum"), `use either "oneOf" choices or "enum", not both`);
  if (field.oneOf) checkChoices(field.oneOf, type, join(at, "oneOf"), report);
  if (field.items) checkChoices(field.items.oneOf, field.items.type, join(at, "items", "oneOf"), report);
  if (field.enum) {
    field.enum.forEach((v, i) => {
      reservedName(v, "value", join(at, "enum", i), report);
      if (!codeMatchesType(v, type))
        report(join(at, "enum", i), `${JSON.stringify(v)} is not of the field's type ${type}`);
    });
    duplicates(
      field.enum,
      (v) => v,
      (i, v) => report(join(at, "enum", i), `duplicate value ${JSON.stringify(v)}`),
    );
  }
  const lo = field.minimum ?? field.exclusiveMinimum;
  const hi = field.maximum ?? field.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined && lo > hi)
    report(join(at, "maximum"), `maximum ${hi} is below minimum ${lo}`);
  if (field.minLength !== undefined && field.maxLength !== undefined && field.minLength > field.maxLength) {
    report(join(at, "maxLength"), `maxLength ${field.maxLength} is below minLength ${field.minLength}`);
  }
  if (field.pattern !== undefined) {
    const problem = patternProblem(field.pattern);
    if (problem) report(join(at, "pattern"), problem);
  }
  if (field["x-format"] !== undefined && field.pattern === undefined) {
    report(join(at, "x-format"), "x-format describes a pattern: this field has none");
  }
  const widget = field["x-widget"];
  if (widget !== undefined) {
    if (!(WIDGET_TYPES[widget] ?? []).includes(type)) {
      report(join(at, "x-widget"), `widget "${widget}" does not fit a field of type ${type}`);
    } else if (
      (widget === "radio" || widget === "select" || widget === "autocomplete") &&
      type !== "boolean" &&
      !field.oneOf &&
      !field.enum
    ) {
      report(join(at, "x-widget"), `widget "${widget}" needs "oneOf" choices or "enum"`);
    }
  }
  if (type === "null") {
    if (widget !== "descriptive") {
      report(join(at, "type"), `"type": "null" is only for display-only fields ("x-widget": "descriptive")`);
    }
    for (const keyword of Object.keys(field)) {
      if (!DESCRIPTIVE_KEYWORDS.has(keyword)) {
        report(join(at, keyword), `"${keyword}" does not apply to a display-only field: it holds no value`);
      }
    }
  }
  if (field["x-slider"] !== undefined && widget !== "slider") {
    report(join(at, "x-slider"), `"x-slider" needs "x-widget": "slider"`);
  }
  reservedName(field["x-matrix"], "matrix group name", join(at, "x-matrix"), report);
  if (field["x-matrix"] !== undefined && !field.oneOf && !field.items && !field.enum) {
    report(join(at, "x-matrix"), `a matrix group holds choice fields: "${name}" has no choices`);
  }
  if (field["x-visit-date"] === true && (type !== "string" || field.format !== "date")) {
    report(join(at, "x-visit-date"), `"x-visit-date" needs a field with "format": "date"`);
  }
  checkDateBounds(field, at, report);
  checkSoftRange(field, at, report);
  if (field["x-visible-if-redcap"] !== undefined && field["x-visible-if"] !== undefined) {
    report(
      join(at, "x-visible-if-redcap"),
      `"${name}" has branching logic already ("x-visible-if"): "x-visible-if-redcap" is only for logic the engine cannot evaluate`,
    );
  }
  const untranslated = field["x-calc-redcap"] !== undefined;
  if (untranslated && field["x-calc"] !== undefined) {
    report(
      join(at, "x-calc-redcap"),
      `"${name}" has a calculation already ("x-calc"): "x-calc-redcap" is only for one the engine cannot compute`,
    );
  }
  if (untranslated && field.readOnly !== true) {
    report(join(at, "x-calc-redcap"), `"${name}" holds a REDCap calculation: it must be "readOnly": true`);
  }
  const isCalc = field["x-calc"] !== undefined;
  if (isCalc && field.readOnly !== true) {
    report(at, `calculated field "${name}" must be "readOnly": true (its value is computed, never entered)`);
  }
  if (!isCalc && !untranslated && field.readOnly === true) {
    report(join(at, "readOnly"), `"${name}" is readOnly but has no "x-calc": nothing could ever fill it`);
  }
  if (isCalc && type === "array") report(join(at, "x-calc"), "a calculated field cannot be multiple choice");
  checkActionTags(field, at, report);
}
