import { createHmac } from "node:crypto";

/**
 * De-identification keyed by the study's export salt: every date of a subject
 * moves by the same number of days (so intervals survive), a stable subject
 * key replaces the id, and identifier fields are left out.
 */
const MAX_SHIFT_DAYS = 180;

/** The de-identification an export applies (flat, ODM and the change feed alike). */
export interface Deidentify {
  /** Leave out fields marked `x-identifier`. */
  dropIdentifiers: boolean;
  /** Days to add to every date of a subject (stable per subject). */
  shiftDays?: (subject: string) => number;
  /** Replace the subject id (e.g. by a keyed hash). */
  subjectKey?: (subject: string) => string;
}

function mac(salt: string, label: string, subject: string): Buffer {
  return createHmac("sha256", salt).update(`${label}:${subject}`).digest();
}

/** A date or date-time moved by whole days (the time of day is kept). */
export function shiftDate(value: string, days: number): string {
  if (days === 0) return value;
  const t = Date.parse(`${value.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(t)) return value;
  return new Date(t + days * 86_400_000).toISOString().slice(0, 10) + value.slice(10);
}

/** A non-zero shift in [-180, 180] days, the same for a subject on every export. */
export function dateShift(salt: string, subject: string): number {
  const n = mac(salt, "shift", subject).readUInt32BE(0) % (2 * MAX_SHIFT_DAYS);
  return n < MAX_SHIFT_DAYS ? n - MAX_SHIFT_DAYS : n - MAX_SHIFT_DAYS + 1;
}

export function subjectKey(salt: string, subject: string): string {
  return mac(salt, "id", subject).toString("hex").slice(0, 16);
}

export function deidentification(
  salt: string,
  options: { shiftDates: boolean; hashIds: boolean },
): Deidentify {
  return {
    dropIdentifiers: true,
    ...(options.shiftDates ? { shiftDays: (s: string) => dateShift(salt, s) } : {}),
    ...(options.hashIds ? { subjectKey: (s: string) => subjectKey(salt, s) } : {}),
  };
}

/**
 * One revision (a change-feed entry) with identifiers left out, dates shifted
 * (its commit time too, as ODM shifts its audit time stamps), its reason left
 * out (free text a site wrote about the subject, as a review entry's) and, if
 * asked, the subject keyed.
 */
export function deidentifyChange<
  T extends {
    subject: string;
    form: string;
    committedAt: string;
    data: Record<string, unknown>;
    changes: { field: string; old: unknown; new: unknown }[];
    missing?: Record<string, { code: string; reason?: string }>;
  },
>(
  change: T,
  instruments: Record<string, { properties: Record<string, { format?: string; "x-identifier"?: boolean }> }>,
  deidentify: Deidentify,
): T {
  const fields = instruments[change.form]?.properties ?? {};
  const shift = deidentify.shiftDays?.(change.subject) ?? 0;
  const value = (field: string, v: unknown) => {
    const f = fields[field];
    return shift &&
      typeof v === "string" &&
      (f?.format === "date" || f?.format === "date-time" || f?.format === "local-date-time")
      ? shiftDate(v, shift)
      : v;
  };
  const keep = (field: string) => !(deidentify.dropIdentifiers && fields[field]?.["x-identifier"]);
  const { reason: _reason, ...kept } = change as T & { reason?: string };
  return {
    ...(kept as T),
    subject: deidentify.subjectKey?.(change.subject) ?? change.subject,
    committedAt: shift ? shiftDate(change.committedAt, shift) : change.committedAt,
    data: Object.fromEntries(
      Object.entries(change.data)
        .filter(([f]) => keep(f))
        .map(([f, v]) => [f, value(f, v)]),
    ),
    changes: change.changes
      .filter((c) => keep(c.field))
      .map((c) => ({ ...c, old: value(c.field, c.old), new: value(c.field, c.new) })),
    ...(change.missing
      ? {
          missing: Object.fromEntries(
            Object.entries(change.missing)
              .filter(([f]) => keep(f))
              .map(([f, m]) => [f, { code: m.code }]),
          ),
        }
      : {}),
  };
}

/**
 * A review-log entry (a query message, a verification, a lock, a signature,
 * a status change) de-identified: the subject keyed, its dates and time
 * shifted like its data, and free text left out, since a query's words or a
 * reason may name the person ("surname misspelt: Smyth").
 */
export function deidentifyReview<T extends { subject?: string; at: string; date?: string }>(
  entry: T,
  deidentify: Deidentify,
): T {
  const { text: _text, reason: _reason, ...kept } = entry as T & { text?: string; reason?: string };
  if (entry.subject === undefined) return kept as T;
  const shift = deidentify.shiftDays?.(entry.subject) ?? 0;
  return {
    ...kept,
    subject: deidentify.subjectKey?.(entry.subject) ?? entry.subject,
    at: shift ? shiftDate(entry.at, shift) : entry.at,
    ...(entry.date !== undefined && shift ? { date: shiftDate(entry.date, shift) } : {}),
  } as T;
}
