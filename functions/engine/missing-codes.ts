import type { FieldSchema, Instrument, MissingCode } from "./definition.ts";

/**
 * Missing-data codes (NA, UNK, NASK, ASKU, …). A field holds either a value or
 * a code, never both. The code is kept beside the values, per instance
 * (`missing: {field: {code, reason}}`), not in place of the value: `data`
 * keeps each field's JSON type (a number stays a number or is absent), so
 * JSON Schema, calculations, branching and rules all see a coded field as
 * empty, and only required-for-complete and the exports read the codes.
 */
export interface MissingValue {
  code: string;
  /** Why the value is missing: required, audited in the revision. */
  reason: string;
}

export type MissingData = Record<string, MissingValue>;

/** Refusals of a submitted missing-data entry; same shape as the engine's field errors. */
export interface MissingProblem {
  field: string;
  code: string;
  message: string;
}

const codable = (schema: FieldSchema | undefined) =>
  schema !== undefined && schema.type !== "null" && schema["x-calc"] === undefined;

/** Entries without a code are no entry (an emptied select); reasons are trimmed. */
export function normaliseMissing(missing: Record<string, Partial<MissingValue>> | undefined): MissingData {
  const out: MissingData = {};
  for (const field of Object.keys(missing ?? {})) {
    const entry = missing?.[field];
    const code = typeof entry?.code === "string" ? entry.code.trim() : "";
    if (code === "") continue;
    out[field] = { code, reason: typeof entry?.reason === "string" ? entry.reason.trim() : "" };
  }
  return out;
}

/**
 * What is wrong with the codes of one submission: a field the form does not
 * have or that holds no entered value (calculated, display-only), a code the
 * study does not declare, a code without a reason, a code beside a value.
 */
export function missingProblems(
  instrument: Instrument,
  missing: MissingData,
  data: Record<string, unknown>,
  declared: readonly MissingCode[],
): MissingProblem[] {
  const out: MissingProblem[] = [];
  const codes = declared.map((c) => c.code);
  for (const [field, { code, reason }] of Object.entries(missing)) {
    const schema = Object.hasOwn(instrument.properties, field) ? instrument.properties[field] : undefined;
    if (!schema)
      out.push({ field, code: "unknown-field", message: `"${field}" is not a field of ${instrument.title}` });
    else if (!codable(schema))
      out.push({
        field,
        code: "not-codable",
        message: "is computed or display-only: it cannot hold a missing-data code",
      });
    else if (!codes.includes(code))
      out.push({
        field,
        code: "missing-code",
        message:
          codes.length === 0
            ? "cannot hold a missing-data code: the study declares none"
            : `"${code}" is not one of the study's missing-data codes (${codes.join(", ")})`,
      });
    else if (data[field] !== undefined)
      out.push({ field, code: "missing-and-value", message: `holds a value and the code ${code}: keep one` });
    else if (reason === "")
      out.push({ field, code: "missing-reason", message: `say why the value is missing (${code})` });
  }
  return out;
}

/** A revision's field change (revision.ts `FieldChange`), as far as codes are concerned. */
interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
  oldCode?: string | null;
  newCode?: string | null;
}

/** A code's change, for the audit: which code a field had and has (null = none). */
export function withCodeChanges(
  changes: FieldChange[],
  before: MissingData | undefined,
  after: MissingData | undefined,
  fields: string[],
): FieldChange[] {
  const codeOf = (m: MissingData | undefined, f: string) => (m && Object.hasOwn(m, f) ? m[f] : undefined);
  const out = changes.map((c) => ({ ...c }));
  const names = [...new Set([...fields, ...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  for (const field of names) {
    const was = codeOf(before, field);
    const now = codeOf(after, field);
    if (JSON.stringify(was ?? null) === JSON.stringify(now ?? null)) continue;
    let change = out.find((c) => c.field === field);
    if (!change) {
      // A field moving between "missing" and "missing with another code": its value stays empty.
      change = { field, old: null, new: null };
      out.push(change);
    }
    change.oldCode = was?.code ?? null;
    change.newCode = now?.code ?? null;
  }
  return out;
}
