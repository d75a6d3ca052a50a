import { spellDate } from "./date-text.ts";
import type { FieldSchema, FormData, Instrument } from "./definition.ts";

/**
 * A date field's plausible range: `x-date-min` / `x-date-max` take an ISO
 * date, "today" or "study-start" (study.json's `startDate`, handed in through
 * the logic context). JSON Schema's `formatMinimum` cannot say "today", so the
 * engine has its own pair. Every date field has a floor of 1900-01-01 unless
 * it declares one: a year such as 0026 is a typing slip in any study.
 *
 * "today" must mean the same thing on a server in UTC and in a browser
 * anywhere, or a visit entered at 08:00 in Sydney is refused as "in the
 * future": as an upper bound it is the latest date on earth now (UTC+14), as a
 * lower bound the earliest (UTC−12).
 */

const DEFAULT_DATE_MIN = "1900-01-01";
const TODAY = "today";
const STUDY_START = "study-start";

const HOUR = 3_600_000;
const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The ISO date a bound stands for now; a "study-start" the study does not declare falls back to the floor. */
function resolveDateBound(
  bound: string,
  side: "min" | "max",
  studyStart: string | undefined,
  now = Date.now(),
): string {
  if (bound === TODAY) return utcDate(side === "max" ? now + 14 * HOUR : now - 12 * HOUR);
  if (bound === STUDY_START) return studyStart ?? DEFAULT_DATE_MIN;
  return bound;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface DateRangeProblem {
  field: string;
  message: string;
}

function describeBound(bound: string, side: "min" | "max", resolved: string): string {
  if (bound === TODAY) return side === "min" ? "must be today or later" : "must be today or earlier";
  const when = `${side === "min" ? "on or after" : "on or before"} ${spellDate(resolved)}`;
  return bound === STUDY_START ? `must be ${when}, the study's start` : `must be ${when}`;
}

function problemOf(schema: FieldSchema, value: string, studyStart: string | undefined, now: number) {
  const min = schema["x-date-min"] ?? DEFAULT_DATE_MIN;
  const lo = resolveDateBound(min, "min", studyStart, now);
  if (value < lo) return describeBound(min, "min", lo);
  const max = schema["x-date-max"];
  if (max === undefined) return undefined;
  const hi = resolveDateBound(max, "max", studyStart, now);
  return value > hi ? describeBound(max, "max", hi) : undefined;
}

/** Date fields holding a well-formed date outside their range (malformed ones are the format check's). */
export function dateRangeProblems(
  instrument: Instrument,
  data: FormData,
  studyStart: string | undefined,
  now = Date.now(),
): DateRangeProblem[] {
  const out: DateRangeProblem[] = [];
  for (const [field, schema] of Object.entries(instrument.properties)) {
    const value = data[field];
    if (schema.format !== "date" || typeof value !== "string" || !ISO_DATE.test(value)) continue;
    const message = problemOf(schema, value, studyStart, now);
    if (message) out.push({ field, message });
  }
  return out;
}
