import type { EventDef, FormData, StudyDefinition } from "./definition.ts";

/**
 * Study days and visit windows. Day 1 is the reference date; the day before
 * it is day -1 (CDISC: there is no day 0). Dates are ISO calendar dates
 * (YYYY-MM-DD) handled in UTC so a time zone never shifts a window.
 */

const DAY_MS = 86_400_000;

function parseDate(date: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
  const t = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(t) ? undefined : t;
}

function formatDate(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** The calendar date of a study day. */
export function dateOfStudyDay(dayOne: string, day: number): string {
  const t = parseDate(dayOne);
  if (t === undefined) throw new RangeError(`not a date: ${dayOne}`);
  return formatDate(t + (day > 0 ? day - 1 : day) * DAY_MS);
}

/** The study day of a calendar date. */
export function studyDayOf(dayOne: string, date: string): number | undefined {
  const a = parseDate(dayOne);
  const b = parseDate(date);
  if (a === undefined || b === undefined) return undefined;
  const offset = Math.round((b - a) / DAY_MS);
  return offset >= 0 ? offset + 1 : offset;
}

export interface VisitWindowDates {
  target: string;
  earliest: string;
  latest: string;
}

/** Target date and window of a scheduled visit, or undefined for an unscheduled one. */
export function visitWindow(event: EventDef, dayOne: string): VisitWindowDates | undefined {
  if (event.day === undefined) return undefined;
  const before = event.window?.before ?? 0;
  const after = event.window?.after ?? 0;
  // Window arithmetic is in study days, so a window that straddles day 1 skips the missing day 0.
  const shift = (day: number, by: number) => {
    const d = day + by;
    return day > 0 && d <= 0 ? d - 1 : day < 0 && d >= 0 ? d + 1 : d;
  };
  return {
    target: dateOfStudyDay(dayOne, event.day),
    earliest: dateOfStudyDay(dayOne, shift(event.day, -before)),
    latest: dateOfStudyDay(dayOne, shift(event.day, after)),
  };
}

export interface Deviation {
  code: "out-of-window";
  event: string;
  form: string;
  instance: number;
  field: string;
  date: string;
  earliest: string;
  latest: string;
  /** Signed days outside the window: negative = early, positive = late. */
  days: number;
  message: string;
}

export interface DatedInstance {
  event: string;
  form: string;
  instance: number;
  data: FormData;
}

/** Day 1 of a subject, read from the protocol's anchor field, if it has been entered. */
export function dayOneOf(
  definition: StudyDefinition,
  instances: Iterable<DatedInstance>,
): string | undefined {
  if (!definition.study.dayOne) return undefined;
  const { event, form, field } = definition.study.dayOne;
  for (const i of instances) {
    if (i.event === event && i.form === form && i.instance === 1) {
      const v = i.data[field];
      return typeof v === "string" && parseDate(v) !== undefined ? v : undefined;
    }
  }
  return undefined;
}

/** Visit dates (fields marked `x-visit-date`) that fall outside their visit's window: allowed, but protocol deviations. */
export function visitDeviations(
  definition: StudyDefinition,
  dayOne: string | undefined,
  instance: DatedInstance,
): Deviation[] {
  if (!dayOne) return [];
  const event = definition.study.events.find((e) => e.id === instance.event);
  const instrument = definition.instruments[instance.form];
  if (!event || !instrument) return [];
  const window = visitWindow(event, dayOne);
  if (!window) return [];
  const out: Deviation[] = [];
  for (const [field, schema] of Object.entries(instrument.properties)) {
    const date = instance.data[field];
    if (!schema["x-visit-date"] || typeof date !== "string" || parseDate(date) === undefined) continue;
    const early = date < window.earliest;
    const late = date > window.latest;
    if (!early && !late) continue;
    const days = early
      ? -Math.round(((parseDate(window.earliest) ?? 0) - (parseDate(date) ?? 0)) / DAY_MS)
      : Math.round(((parseDate(date) ?? 0) - (parseDate(window.latest) ?? 0)) / DAY_MS);
    out.push({
      code: "out-of-window",
      event: event.id,
      form: instance.form,
      instance: instance.instance,
      field,
      date,
      earliest: window.earliest,
      latest: window.latest,
      days,
      message: `${event.label} dated ${date} is ${Math.abs(days)} day(s) ${early ? "before" : "after"} its window (${window.earliest} to ${window.latest})`,
    });
  }
  return out;
}

export type VisitTiming = "upcoming" | "due" | "overdue" | "in-progress" | "done" | "out-of-window";

/**
 * Where a visit stands on `today`: done (every form of it complete, in window
 * or with no window), in progress (some forms saved, not all complete),
 * out of window (some form dated outside it), or nothing saved and upcoming /
 * due / overdue. Undefined for a visit with no schedule (unscheduled, end of
 * study) and no data, or when day 1 is not known yet.
 */
export function visitTiming(
  event: EventDef,
  dayOne: string | undefined,
  today: string,
  done: { any: boolean; allComplete: boolean; deviations: number },
): VisitTiming | undefined {
  if (done.deviations > 0) return "out-of-window";
  if (done.allComplete) return "done";
  if (done.any) return "in-progress";
  if (!dayOne) return undefined;
  const window = visitWindow(event, dayOne);
  if (!window) return undefined;
  if (today < window.earliest) return "upcoming";
  return today <= window.latest ? "due" : "overdue";
}

/**
 * Per form, the date fields the schedule reads (day one's anchor and the
 * `x-visit-date` fields): all a dashboard needs of a form's data, so a
 * summary of the casebook keeps these and nothing else.
 */
export function scheduleDateFields(definition: StudyDefinition): Record<string, string[]> {
  const known = dateFieldsOf.get(definition);
  if (known) return known;
  const out: Record<string, string[]> = {};
  for (const [form, instrument] of Object.entries(definition.instruments)) {
    const fields = Object.entries(instrument.properties)
      .filter(([, schema]) => schema["x-visit-date"])
      .map(([field]) => field);
    if (fields.length > 0) out[form] = fields;
  }
  const dayOne = definition.study.dayOne;
  if (dayOne && !out[dayOne.form]?.includes(dayOne.field))
    out[dayOne.form] = [...(out[dayOne.form] ?? []), dayOne.field];
  dateFieldsOf.set(definition, out);
  return out;
}

/** Every save asks; a definition never changes once loaded. */
const dateFieldsOf = new WeakMap<StudyDefinition, Record<string, string[]>>();
