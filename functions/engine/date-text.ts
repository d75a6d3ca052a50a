/**
 * Dates and times as people type them, read one way only. A browser's date
 * picker follows its locale (10/11/2026 is 11 October in en-US, 10 November in
 * de-DE), so the form pages take text and this parser decides: ISO
 * (YYYY-MM-DD) or a day with the month's name (17 Apr 1988, Apr 17 1988).
 * Numbers for both day and month are never guessed: they are refused as
 * ambiguous. Years have four digits (5/3/26 must not become year 0026).
 * Times are the 24-hour clock: 09:30, 9:30, 0930, 930; AM/PM is refused.
 * Pure: the server reads form posts with it and the browser echoes with it.
 */

export type Parsed =
  | { ok: true; value: string }
  | { ok: false; problem: "ambiguous" | "no-such-day" | "not-a-date" | "not-a-time" };

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** English and German month names and their usual abbreviations (the study's sites type both). */
const MONTH_WORDS: Record<string, number> = {};
for (const [i, name] of MONTHS.entries()) {
  MONTH_WORDS[name.toLowerCase()] = i + 1;
  MONTH_WORDS[name.slice(0, 3).toLowerCase()] = i + 1;
}
for (const [word, month] of Object.entries({
  sept: 9,
  januar: 1,
  jän: 1,
  jänner: 1,
  februar: 2,
  märz: 3,
  mär: 3,
  mrz: 3,
  mai: 5,
  juni: 6,
  juli: 7,
  okt: 10,
  oktober: 10,
  dez: 12,
  dezember: 12,
})) {
  MONTH_WORDS[word] = month;
}

const DATE_EXAMPLE = "e.g. 2026-11-10 or 10 Nov 2026";

function isoOf(year: number, month: number, day: number): Parsed {
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC maps years 0–99 to 1900–1999; the four-digit year rule already keeps them out.
  if (month < 1 || month > 12 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return { ok: false, problem: "no-such-day" };
  const pad = (n: number, width: number) => String(n).padStart(width, "0");
  return { ok: true, value: `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}` };
}

const YEAR = "([1-9]\\d{3})";
const ISO = new RegExp(`^${YEAR}-(\\d{1,2})-(\\d{1,2})$`);
const DAY_MONTH_YEAR = new RegExp(`^(\\d{1,2})\\.?[\\s./-]*(\\p{L}+)\\.?[\\s./-]*,?\\s*${YEAR}$`, "u");
const MONTH_DAY_YEAR = new RegExp(
  `^(\\p{L}+)\\.?[\\s./-]*(\\d{1,2})(?:st|nd|rd|th)?,?[\\s./-]*${YEAR}$`,
  "u",
);
const ALL_NUMBERS = /^\d{1,4}[\s./-]+\d{1,2}[\s./-]+\d{1,4}$/;

export function parseDateText(raw: string): Parsed {
  const text = raw.trim();
  const iso = ISO.exec(text);
  if (iso) return isoOf(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const dmy = DAY_MONTH_YEAR.exec(text);
  const dmyMonth = dmy ? MONTH_WORDS[(dmy[2] ?? "").toLowerCase()] : undefined;
  if (dmy && dmyMonth) return isoOf(Number(dmy[3]), dmyMonth, Number(dmy[1]));
  const mdy = MONTH_DAY_YEAR.exec(text);
  const mdyMonth = mdy ? MONTH_WORDS[(mdy[1] ?? "").toLowerCase()] : undefined;
  if (mdy && mdyMonth) return isoOf(Number(mdy[3]), mdyMonth, Number(mdy[2]));
  if (ALL_NUMBERS.test(text) && !/^\d{4}[\s./-]/.test(text)) return { ok: false, problem: "ambiguous" };
  return { ok: false, problem: "not-a-date" };
}

/** "1988-04-17" → "17 April 1988": what an echo beside the input and a message show. */
export function spellDate(iso: string): string {
  const [year, month, day] = iso.split("-").map(Number);
  return `${day} ${MONTHS[(month ?? 1) - 1]} ${year}`;
}

const TIME_TEXT = /^(\d{1,2})(?:[:.h]?(\d{2}))(?::(\d{2}))?$/;

export function parseTimeText(raw: string): Parsed {
  const text = raw.trim();
  const m = TIME_TEXT.exec(text);
  if (!m) return { ok: false, problem: "not-a-time" };
  const [hours, minutes] = [Number(m[1]), Number(m[2])];
  const seconds = m[3] === undefined ? undefined : Number(m[3]);
  if (hours > 23 || minutes > 59 || (seconds ?? 0) > 59) return { ok: false, problem: "not-a-time" };
  const pad = (n: number) => String(n).padStart(2, "0");
  return {
    ok: true,
    value: `${pad(hours)}:${pad(minutes)}${seconds === undefined ? "" : `:${pad(seconds)}`}`,
  };
}

/** Why a text is not a date, for a person: the same words on the server and in the browser. */
export function dateProblemMessage(text: string): string {
  const parsed = parseDateText(text);
  if (!parsed.ok && parsed.problem === "ambiguous")
    return `is ambiguous (day and month are both numbers): write YYYY-MM-DD or the month's name, ${DATE_EXAMPLE}`;
  if (!parsed.ok && parsed.problem === "no-such-day") return "is not a day of the calendar";
  return `must be a date: YYYY-MM-DD or the month's name, ${DATE_EXAMPLE}`;
}

export const TIME_MESSAGE = "must be a time on the 24-hour clock, HH:MM (e.g. 09:30 or 0930)";

/**
 * A local date-time as typed: a date (any spelling parseDateText reads) and a
 * 24-hour time, separated by "T" or a space ("2026-11-10 09:30", REDCap's
 * spelling; "10 Nov 2026 0930"). The stored spelling is ISO without a zone,
 * "2026-11-10T09:30" (seconds kept when typed): the study's time zone is
 * declared once in study.json, never per value.
 */
export function parseLocalDateTimeText(raw: string): Parsed {
  const text = raw.trim();
  const iso = /^(\d{4}-\d{1,2}-\d{1,2})T(.+)$/.exec(text);
  const spaced = /^(.+?)[\s,]+(\S+)$/.exec(text);
  const [date, time] = iso ? [iso[1], iso[2]] : spaced ? [spaced[1], spaced[2]] : [text, ""];
  const day = parseDateText(date ?? "");
  if (!day.ok) return day;
  const clock = parseTimeText(time ?? "");
  if (!clock.ok) return clock;
  return { ok: true, value: `${day.value}T${clock.value}` };
}

/** The stored spelling of a local date-time: YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS. */
export const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

/** Whether a value is a stored local date-time of a real calendar day. */
export function isLocalDateTime(value: string): boolean {
  return LOCAL_DATE_TIME.test(value) && parseDateText(value.slice(0, 10)).ok;
}

export const LOCAL_DATE_TIME_MESSAGE =
  "must be a date and time without a time zone, YYYY-MM-DD HH:MM (e.g. 2026-11-10 09:30)";

/** "2026-11-10T09:30" → "10 November 2026 09:30": what the echo beside the box shows. */
export function spellLocalDateTime(value: string): string {
  return `${spellDate(value.slice(0, 10))} ${value.slice(11)}`;
}

/** REDCap's spelling of a local date-time: a space for the "T" ("2026-11-10 09:30"). */
export const redcapDateTime = (value: string): string => value.replace("T", " ");
