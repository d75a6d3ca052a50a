import type { FieldSchema, FormData } from "./definition.ts";

/**
 * Soft checks: a value outside a field's soft range (`x-soft-minimum`,
 * `x-soft-maximum`, REDCap's min/max) or a rule of `severity: "warning"` is
 * not refused. The save asks the person to confirm it; a confirmed warning is
 * recorded in the revision and opens a query with the check's message, so a
 * true extreme value (42.3 °C) is stored and reviewed rather than lost.
 */
export interface FieldWarning {
  /** JSON pointer of the field the warning is about. */
  pointer: string;
  /** The rule's id, or `x-soft-minimum` / `x-soft-maximum`. */
  rule: string;
  message: string;
}

/** What the person confirmed: every warning shown (`true`), or the pointers of the fields they confirmed. */
export type WarningConfirmation = true | readonly string[] | undefined;

function fmt(n: number, schema: FieldSchema): string {
  return `${n}${schema["x-unit"] ? ` ${schema["x-unit"]}` : ""}`;
}

/** The soft-range warning of one field's value, if it lies outside. */
export function softRangeWarning(
  field: string,
  schema: FieldSchema,
  value: unknown,
  at: string,
): FieldWarning | undefined {
  if (typeof value !== "number") return undefined;
  const lo = schema["x-soft-minimum"];
  const hi = schema["x-soft-maximum"];
  const expected =
    lo !== undefined && hi !== undefined
      ? `between ${fmt(lo, schema)} and ${fmt(hi, schema)}`
      : lo !== undefined
        ? `at least ${fmt(lo, schema)}`
        : `at most ${fmt(hi ?? 0, schema)}`;
  if (lo !== undefined && value < lo)
    return {
      pointer: at,
      rule: "x-soft-minimum",
      message: `${fmt(value, schema)} is unusually low for ${field}: expected ${expected}`,
    };
  if (hi !== undefined && value > hi)
    return {
      pointer: at,
      rule: "x-soft-maximum",
      message: `${fmt(value, schema)} is unusually high for ${field}: expected ${expected}`,
    };
  return undefined;
}

/** The warnings the person has not confirmed. */
export function unconfirmed(
  warnings: readonly FieldWarning[],
  confirmation: WarningConfirmation,
): FieldWarning[] {
  if (confirmation === true) return [];
  const confirmed = new Set(confirmation ?? []);
  return warnings.filter((w) => !confirmed.has(w.pointer));
}

/**
 * Whether a warning stands as saved before: every field it reads holds its
 * stored value. Such a warning was confirmed (or saved under an earlier
 * protocol) already and has its query; it is not asked again.
 */
export function standsAsStored(
  reads: readonly string[],
  data: FormData,
  stored: FormData | undefined,
): boolean {
  if (!stored) return false;
  const value = (d: FormData, f: string) => JSON.stringify(Object.hasOwn(d, f) ? d[f] : null);
  return reads.every((f) => value(data, f) === value(stored, f));
}

/**
 * The id of the query a confirmed warning opens: derived from the revision,
 * so opening it again after a crash finds it already there instead of opening
 * a second one.
 */
export function warningQueryId(
  revision: { event: string; form: string; instance: number; rev: number },
  index: number,
): string {
  return `w-${revision.event}-${revision.form}-${revision.instance}-r${revision.rev}-${index + 1}`;
}
