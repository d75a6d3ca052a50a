import type { ChoiceCode, FieldSchema, FormData, Instrument } from "./definition.ts";
import { isEmpty } from "./logic.ts";

/**
 * What REDCap's action tags mean in this engine, as field annotations the
 * server and the page both read through these functions:
 *
 * - `x-default` (@DEFAULT, @TODAY, @NOW): the value a new instance starts with
 *   when its form is opened; never written over a saved value, and not applied
 *   to API saves (REDCap does not apply @DEFAULT to imports either: a client
 *   sends what it means).
 * - `x-set-value` (@SETVALUE): like `x-default`, and also fills the field when
 *   a saved instance is opened with the field empty. REDCap overwrites a saved
 *   value on every opening; here a saved value is only ever changed by a person
 *   who means to (an audited edit), so a non-empty value stays.
 * - `x-none-of-the-above` (@NONEOFTHEABOVE): checkbox codes that exclude every
 *   other box; the server refuses them together, the page unticks the others.
 * - `x-hidden` / `x-readonly` are presentation only (see web/fields.tsx); their
 *   values are saved and exported like any other.
 *
 * "today" and "now" are the clock handed in, so a test (or the page) decides it.
 */

export interface Clock {
  /** The date to write for "today" (YYYY-MM-DD). */
  today: string;
  /** The instant to write for "now" (YYYY-MM-DDTHH:MM:SSZ). */
  now: string;
}

/** The clock of this instant in UTC (what the server renders). */
export function utcClock(at: Date = new Date()): Clock {
  const iso = at.toISOString();
  return { today: iso.slice(0, 10), now: `${iso.slice(0, 19)}Z` };
}

/** What "today" or "now" is for this field: a date, a time or a date and time, by its format. */
function clockValue(schema: FieldSchema, word: "today" | "now", clock: Clock): string {
  if (schema.format === "date") return clock.today;
  if (schema.format === "time") return clock.now.slice(11, 16);
  if (schema.format === "date-time") return word === "today" ? `${clock.today}T00:00:00Z` : clock.now;
  return word === "today" ? clock.today : `${clock.today} ${clock.now.slice(11, 16)}`;
}

/** A default as the value the field holds ("today"/"now" resolved). */
export function defaultValue(schema: FieldSchema, value: unknown, clock: Clock): unknown {
  if (value === "today" || value === "now") return clockValue(schema, value, clock);
  return value;
}

/**
 * The values a form opens with beyond what is saved: `x-default` where the
 * instance is new (`saved` null), `x-set-value` where the field is empty.
 * Calculated fields are the engine's, never defaulted.
 */
export function initialValues(instrument: Instrument, saved: FormData | null, clock: Clock): FormData {
  const out: FormData = {};
  for (const [field, schema] of Object.entries(instrument.properties)) {
    if (schema["x-calc"] !== undefined) continue;
    const current = saved && Object.hasOwn(saved, field) ? saved[field] : undefined;
    if (!isEmpty(current)) continue;
    const value =
      schema["x-set-value"] !== undefined
        ? schema["x-set-value"]
        : saved === null
          ? schema["x-default"]
          : undefined;
    if (value !== undefined) out[field] = defaultValue(schema, value, clock);
  }
  return out;
}

export interface NoneOfTheAboveProblem {
  field: string;
  message: string;
}

/** Checkbox values that tick a "none of the above" code together with any other box. */
export function noneOfTheAboveProblems(instrument: Instrument, data: FormData): NoneOfTheAboveProblem[] {
  const out: NoneOfTheAboveProblem[] = [];
  for (const [field, schema] of Object.entries(instrument.properties)) {
    const exclusive = schema["x-none-of-the-above"];
    const value = data[field];
    if (!exclusive || !Array.isArray(value) || value.length < 2) continue;
    const ticked = exclusive.filter((code) => value.includes(code));
    if (ticked.length === 0) continue;
    const title = (code: ChoiceCode) =>
      schema.items?.oneOf.find((c) => c.const === code)?.title ?? String(code);
    out.push({
      field,
      message: `"${ticked.map(title).join('", "')}" cannot be ticked with any other choice`,
    });
  }
  return out;
}

/**
 * The boxes to leave ticked after a person ticks `changed`: a "none of the
 * above" code unticks every other box, any other box unticks those codes.
 */
export function exclusiveTicks(
  schema: FieldSchema,
  ticked: readonly ChoiceCode[],
  changed: ChoiceCode,
): ChoiceCode[] {
  const exclusive = schema["x-none-of-the-above"] ?? [];
  if (!ticked.includes(changed)) return [...ticked];
  if (exclusive.includes(changed)) return [changed];
  return ticked.filter((c) => !exclusive.includes(c));
}
