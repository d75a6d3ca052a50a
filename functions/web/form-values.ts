import {
  parseDateText,
  parseLocalDateTimeText,
  parseTimeText,
  redcapDateTime,
  spellDate,
  spellLocalDateTime,
} from "../engine/date-text.ts";
import type { FieldSchema, FormData, Instrument } from "../engine/definition.ts";
import { asFileReference, formatBytes } from "../engine/file-fields.ts";

/**
 * HTML form fields ⇄ typed form data, by the instrument's schema. Used by the
 * server for plain form posts and by the browser script, so both read a form
 * the same way. A value that does not parse is kept as text, so the engine
 * refuses it with its usual message rather than it silently vanishing.
 */

export type FormEntries = Record<string, string | string[] | undefined>;

function scalar(schema: FieldSchema, raw: string): unknown {
  const text = raw.trim();
  if (text === "") return undefined;
  const type = schema.type;
  // A file field's control holds the reference the upload answered, as JSON.
  if (type === "object") {
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed !== null && typeof parsed === "object" ? parsed : text;
    } catch {
      return text;
    }
  }
  if (type === "boolean") return text === "true" ? true : text === "false" ? false : text;
  if (type === "number" || type === "integer") {
    // A decimal-comma field is typed "1,5"; a dot is read too (a pasted value, a browser's number pad).
    const n = Number(
      schema["x-decimal-comma"] === true && /^-?\d*,\d+$/.test(text) ? text.replace(",", ".") : text,
    );
    return Number.isFinite(n) ? n : text;
  }
  // Typed dates and times become ISO / HH:MM here; an ambiguous "10/11/2026" stays text and is refused with its reason.
  const parsed = schema.format && isTypedFormat(schema.format) ? parseTyped(schema.format, text) : undefined;
  if (parsed?.ok) return parsed.value;
  return text;
}

/** The formats typed as text and read by the engine's parser (never the browser's pickers). */
export type TypedFormat = "date" | "time" | "local-date-time";
export const isTypedFormat = (format: string): format is TypedFormat =>
  format === "date" || format === "time" || format === "local-date-time";

export function parseTyped(format: TypedFormat, text: string) {
  if (format === "date") return parseDateText(text);
  if (format === "time") return parseTimeText(text);
  return parseLocalDateTimeText(text);
}

export function readFormEntries(instrument: Instrument, entries: FormEntries): FormData {
  const data: FormData = {};
  for (const [field, schema] of Object.entries(instrument.properties)) {
    if (schema["x-calc"] !== undefined) continue;
    const raw = entries[field];
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (schema.type === "array") {
      const itemType =
        schema.items?.type === "integer" ? { type: "integer" as const } : { type: "string" as const };
      const items = values.map((v) => scalar(itemType, v)).filter((v) => v !== undefined);
      if (items.length > 0) data[field] = items;
    } else {
      const value = scalar(schema, values[values.length - 1] ?? "");
      if (value !== undefined) data[field] = value;
    }
  }
  return data;
}

/** The form controls of a field's missing-data code and its reason (page and script read them alike). */
export const missingCodeName = (field: string) => `_missing.${field}`;
export const missingReasonName = (field: string) => `_missing_reason.${field}`;

/**
 * A file field's controls beside the hidden one holding its reference: the
 * file chosen to upload (a drawn signature becomes one) and the box that
 * clears the attached file.
 */
export const fileUploadName = (field: string) => `_file.${field}`;
export const fileRemoveName = (field: string) => `_remove.${field}`;

/** The missing-data codes chosen on the page: per field, the code and the reason typed beside it. */
export function readMissingEntries(
  instrument: Instrument,
  entries: FormEntries,
): Record<string, { code: string; reason: string }> {
  const out: Record<string, { code: string; reason: string }> = {};
  const last = (v: string | string[] | undefined) => (Array.isArray(v) ? v[v.length - 1] : v) ?? "";
  for (const field of Object.keys(instrument.properties)) {
    const code = last(entries[missingCodeName(field)]).trim();
    if (code !== "") out[field] = { code, reason: last(entries[missingReasonName(field)]).trim() };
  }
  return out;
}

/** The text an input shows for a stored value (a decimal-comma field's number with its comma). */
export function inputText(value: unknown, schema?: FieldSchema): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "number" && schema?.["x-decimal-comma"] === true)
    return String(value).replace(".", ",");
  // A local date-time reads as people write it, with a space: "2026-11-10 09:30".
  if (typeof value === "string" && schema?.format === "local-date-time") return redcapDateTime(value);
  return String(value);
}

/** A stored value as a person reads it: choice labels, yes/no, units. */
export function displayValue(schema: FieldSchema | undefined, value: unknown): string {
  if (value === undefined || value === null || value === "") return "—";
  const file = asFileReference(value);
  if (file) return `${file.name} (${formatBytes(file.size)})`;
  if (!schema) return JSON.stringify(value);
  const label = (code: unknown) => {
    const choice = (schema.oneOf ?? schema.items?.oneOf)?.find((c) => c.const === code);
    return choice ? choice.title : String(code);
  };
  if (Array.isArray(value)) return value.map(label).join(", ");
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (schema.oneOf) return label(value);
  return schema["x-unit"] ? `${value} ${schema["x-unit"]}` : String(value);
}
/** The echo for a typed text: the value spelled out, or nothing while it is not (yet) a date. */
export function echoText(format: TypedFormat, text: string): string {
  if (text.trim() === "") return "";
  const parsed = parseTyped(format, text);
  if (!parsed.ok) return "";
  if (format === "local-date-time") return `= ${spellLocalDateTime(parsed.value)}`;
  return `= ${format === "date" ? spellDate(parsed.value) : parsed.value}`;
}
