import type { ChoiceCode, FieldSchema, PresetValue } from "../definition.ts";
import { type FoundTag, findTags, tagText, withoutTags } from "./annotation.ts";
import { isNumeric } from "./syntax.ts";
import { VALIDATION_TYPES } from "./validation-types.ts";

/**
 * REDCap's action tags that the engine acts on ⇄ its annotations
 * (engine/action-tags.ts). A tag mapped here leaves the Field Annotation and
 * is written back from the keyword on export; every other tag stays in
 * `x-annotation`, verbatim.
 */

/**
 * Every REDCap action tag the engine acts on, and the annotation it becomes:
 * what tests/e2e/logic-parity.test.ts holds one browser-and-server case for.
 */
export const ENGINE_ACTION_TAGS = {
  "@HIDDEN": "x-hidden",
  "@HIDDEN-FORM": "x-hidden",
  "@READONLY": "x-readonly",
  "@READONLY-FORM": "x-readonly",
  "@DEFAULT": "x-default",
  "@TODAY": "x-default",
  "@NOW": "x-default",
  "@SETVALUE": "x-set-value",
  "@NONEOFTHEABOVE": "x-none-of-the-above",
  "@CALCTEXT": "x-calc",
  "@CALCDATE": "x-calc",
} as const;

/** Where the tags' problems go: always the Field Annotation column (field-rows.ts's Report fits). */
type Report = (column: "Field Annotation", severity: "warning", message: string) => void;

/** Tags the engine has no place for (surveys, the mobile app, PDFs): kept in x-annotation, reported. */
const NOT_APPLICABLE = /^@(HIDDEN|READONLY)-(SURVEY|APP|PDF)$/;

/** A REDCap default as the field's value; undefined when it does not fit the field. */
function typedValue(schema: FieldSchema, text: string, comma: boolean): PresetValue | undefined {
  const code = (t: string, type: string | undefined): ChoiceCode | undefined => {
    if (type === "integer" || type === "number") return isNumeric(t) ? Number(t) : undefined;
    return t;
  };
  switch (schema.type) {
    case "boolean":
      return text === "1" || text === "true" ? true : text === "0" || text === "false" ? false : undefined;
    case "integer":
    case "number": {
      const t = comma ? text.replace(",", ".") : text;
      return isNumeric(t.trim()) ? Number(t.trim()) : undefined;
    }
    case "array": {
      const codes = text.split(",").map((c) => code(c.trim(), schema.items?.type));
      return codes.every((c) => c !== undefined) ? (codes as ChoiceCode[]) : undefined;
    }
    case "string":
      return text;
    default:
      return undefined;
  }
}

function presetFits(schema: FieldSchema, value: PresetValue): boolean {
  const choices = schema.oneOf?.map((c) => c.const) ?? schema.enum;
  if (choices && !choices.includes(value as ChoiceCode)) return false;
  if (Array.isArray(value)) return value.every((v) => schema.items?.oneOf.some((c) => c.const === v));
  return true;
}

/**
 * Moves the tags the engine acts on from the annotation into schema keywords;
 * returns the annotation left. A tag whose argument cannot be a value of the
 * field (piping such as `[name]`, a code it does not have) stays, reported.
 */
export function readActionTags(
  schema: FieldSchema,
  annotation: string,
  report: Report,
  options: { comma: boolean },
): string {
  const taken: FoundTag[] = [];
  const kept: string[] = [];
  // A calc row is read-only before its calculation is translated.
  const isCalc = schema["x-calc"] !== undefined || schema.readOnly === true;
  for (const t of findTags(annotation)) {
    const preset = (keyword: "x-default" | "x-set-value", value: string | undefined) => {
      if (value === undefined || isCalc || schema.type === "null") return false;
      if (/\[[^\]]+\]/.test(value)) {
        report(
          "Field Annotation",
          "warning",
          `${t.tag}='${value}' pipes another value: kept in x-annotation, not applied`,
        );
        return true;
      }
      const typed = typedValue(schema, value, options.comma);
      if (typed === undefined || !presetFits(schema, typed)) {
        report(
          "Field Annotation",
          "warning",
          `${t.tag}='${value}' is not a value of this field: kept in x-annotation`,
        );
        return true;
      }
      schema[keyword] = typed;
      taken.push(t);
      return true;
    };
    let handled = false;
    switch (t.tag) {
      case "@HIDDEN":
      case "@HIDDEN-FORM":
        schema["x-hidden"] = true;
        taken.push(t);
        handled = true;
        break;
      case "@READONLY":
      case "@READONLY-FORM":
        if (schema.type !== "null" && !isCalc) {
          schema["x-readonly"] = true;
          taken.push(t);
          handled = true;
        }
        break;
      case "@DEFAULT":
        handled = preset("x-default", t.value);
        break;
      case "@SETVALUE":
        handled = preset("x-set-value", t.value);
        break;
      case "@TODAY":
      case "@NOW":
        if (schema.type === "string" && !isCalc) {
          schema["x-default"] = t.tag === "@TODAY" ? "today" : "now";
          taken.push(t);
          handled = true;
        }
        break;
      case "@NONEOFTHEABOVE": {
        const codes =
          t.value !== undefined && schema.type === "array" ? typedValue(schema, t.value, false) : undefined;
        if (Array.isArray(codes) && presetFits(schema, codes) && codes.length > 0) {
          schema["x-none-of-the-above"] = codes;
          taken.push(t);
          handled = true;
        }
        break;
      }
      case "@CHARLIMIT":
        handled = true;
        break;
    }
    if (NOT_APPLICABLE.test(t.tag)) {
      report(
        "Field Annotation",
        "warning",
        `${t.tag} does not apply: the engine has no surveys, app or PDF forms`,
      );
      handled = true;
    }
    if (!handled) kept.push(t.tag);
  }
  if (kept.length > 0) {
    const tags = [...new Set(kept)];
    report(
      "Field Annotation",
      "warning",
      `action tag${tags.length === 1 ? "" : "s"} ${tags.join(", ")} kept in x-annotation; the engine does not act on ${tags.length === 1 ? "it" : "them"}`,
    );
  }
  return withoutTags(annotation, taken);
}

/** @CALCTEXT(logic) or @CALCDATE(date, offset, unit) found in an annotation, and the annotation without it. */
export interface CalcTag {
  tag: "@CALCTEXT" | "@CALCDATE";
  /** What is inside the parentheses, as written. */
  expr: string;
  rest: string;
}

/** The first @CALCTEXT(…) / @CALCDATE(…) of an annotation; undefined when there is none or its parentheses never close. */
export function takeCalcTag(annotation: string): CalcTag | undefined {
  const m = /@(CALCTEXT|CALCDATE)\s*\(/.exec(annotation);
  if (!m) return undefined;
  const open = m.index + m[0].length;
  let depth = 1;
  let quote: string | undefined;
  for (let i = open; i < annotation.length; i++) {
    const c = annotation[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) {
      const found: FoundTag = { tag: `@${m[1]}`, start: m.index, end: i + 1 };
      return {
        tag: found.tag as CalcTag["tag"],
        expr: annotation.slice(open, i).trim(),
        rest: withoutTags(annotation, [found]),
      };
    }
  }
  return undefined;
}

/** A text field REDCap computes is @CALCTEXT; a date or date-time one is @CALCDATE. */
export function calcTagOf(schema: FieldSchema): CalcTag["tag"] | undefined {
  if (schema.type !== "string" || (schema["x-calc"] === undefined && schema["x-calc-redcap"] === undefined))
    return undefined;
  return isDateFormat(schema.format) ? "@CALCDATE" : "@CALCTEXT";
}

export const isDateFormat = (format: string | undefined): boolean =>
  format === "date" || format === "date-time" || format === "local-date-time";

/** A value as REDCap writes it for the field's validation (`number_1dp_comma_decimal`: 2 is "2,0"). */
function presetText(value: PresetValue, validation: string): string {
  if (Array.isArray(value)) return value.join(",");
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value !== "number") return value;
  const dp = /^number_(\d)dp/.exec(validation);
  const text = dp ? value.toFixed(Number(dp[1])) : String(value);
  return VALIDATION_TYPES[validation]?.comma ? text.replace(".", ",") : text;
}

/** The action tags a field's annotations stand for, as REDCap writes them for its validation type. */
export function writeActionTags(schema: FieldSchema, validation = ""): string {
  const parts: string[] = [];
  if (schema["x-hidden"] === true) parts.push("@HIDDEN");
  if (schema["x-readonly"] === true) parts.push("@READONLY");
  const preset = schema["x-default"];
  if (preset === "today") parts.push("@TODAY");
  else if (preset === "now") parts.push("@NOW");
  else if (preset !== undefined) parts.push(tagText("@DEFAULT", presetText(preset, validation)));
  const set = schema["x-set-value"];
  if (set !== undefined) parts.push(tagText("@SETVALUE", presetText(set, validation)));
  const exclusive = schema["x-none-of-the-above"];
  if (exclusive?.length) parts.push(tagText("@NONEOFTHEABOVE", exclusive.join(",")));
  return parts.join(" ");
}
