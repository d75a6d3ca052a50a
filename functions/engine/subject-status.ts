import { CLOSED_SUBJECT_STATUSES, type ReviewEntry, SUBJECT_STATUSES, type SubjectStatus } from "./review.ts";

/**
 * A subject's status (screened, enrolled, withdrawn, …) is the last
 * `subject-status` entry of its review log; a subject with none is
 * "enrolled", since enrolment is what put it in the engine. Changes follow
 * TRANSITIONS: forward moves need nothing more (withdrawal needs a date and a
 * reason), and a move back from a closed status to an open one (a completion
 * or withdrawal recorded in error, a re-screening) needs a reason, so nothing
 * reopens silently.
 */

export const DEFAULT_SUBJECT_STATUS: SubjectStatus = "enrolled";

/** Where each status may go next. The first recorded status may be any (a site that registers at screening starts with "screened"). */
export const TRANSITIONS: Record<SubjectStatus, readonly SubjectStatus[]> = {
  screened: ["enrolled", "screen-failure", "withdrawn", "lost-to-follow-up"],
  "screen-failure": ["screened"],
  enrolled: ["withdrawn", "lost-to-follow-up", "completed"],
  withdrawn: ["enrolled"],
  "lost-to-follow-up": ["enrolled", "withdrawn", "completed"],
  completed: ["enrolled"],
};

export const STATUS_LABEL: Record<SubjectStatus, string> = {
  screened: "Screened",
  "screen-failure": "Screen failure",
  enrolled: "Enrolled",
  withdrawn: "Withdrawn",
  "lost-to-follow-up": "Lost to follow-up",
  completed: "Completed",
};

export interface StatusRecord {
  status: SubjectStatus;
  /** When the status took effect, as the site recorded it (ISO date). */
  date?: string;
  reason?: string;
  /** The entry that set it; absent for the implicit "enrolled". */
  at?: string;
  by?: string;
  seq?: number;
}

export function isSubjectStatus(value: unknown): value is SubjectStatus {
  return typeof value === "string" && (SUBJECT_STATUSES as readonly string[]).includes(value);
}

type StatusEntry = ReviewEntry & { action: "subject-status" };

const isStatusEntry = (e: ReviewEntry): e is StatusEntry => e.action === "subject-status";

const recordOf = (e: StatusEntry): StatusRecord => ({
  status: e.status,
  ...(e.date !== undefined ? { date: e.date } : {}),
  ...(e.reason !== undefined ? { reason: e.reason } : {}),
  at: e.at,
  by: e.by,
  seq: e.seq,
});

/** Every status change of one subject's log, oldest first. */
export function statusHistory(entries: readonly ReviewEntry[]): StatusRecord[] {
  return entries
    .filter(isStatusEntry)
    .sort((a, b) => a.seq - b.seq)
    .map(recordOf);
}

/** The subject's status now. */
export function currentStatus(entries: readonly ReviewEntry[]): StatusRecord {
  return statusHistory(entries).at(-1) ?? { status: DEFAULT_SUBJECT_STATUS };
}

/** Per subject, the status now, from status entries of many subjects (a site's, by readSiteStatusEntries). */
export function statusesBySubject(entries: readonly ReviewEntry[]): Map<string, SubjectStatus> {
  const latest = new Map<string, StatusEntry>();
  for (const e of entries) {
    if (!isStatusEntry(e) || e.subject === undefined) continue;
    const known = latest.get(e.subject);
    if (!known || known.seq < e.seq) latest.set(e.subject, e);
  }
  return new Map([...latest].map(([subject, e]) => [subject, e.status]));
}

/** Whether no visit is due any more. */
export function isClosedStatus(status: SubjectStatus | undefined): boolean {
  return status !== undefined && CLOSED_SUBJECT_STATUSES.has(status);
}

export interface StatusChange {
  status: SubjectStatus;
  date?: string;
  reason?: string;
}

export interface StatusProblem {
  pointer: string;
  code: string;
  message: string;
}

export type StatusDecision =
  | { kind: "change" }
  /** The change is well formed but the subject cannot go there from where it is. */
  | { kind: "transition"; message: string }
  | { kind: "invalid"; errors: StatusProblem[] };

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
export const MAX_REASON_LENGTH = 2000;

function realDate(text: string): boolean {
  if (!ISO_DATE.test(text)) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

/**
 * Decides whether `change` may be recorded now. `recorded` says whether the
 * subject already has a status entry (without one, any first status is
 * allowed: the implicit "enrolled" is not a choice anyone made).
 */
export function decideStatusChange(
  current: StatusRecord,
  change: StatusChange,
  today: string,
): StatusDecision {
  const errors: StatusProblem[] = [];
  const reason = change.reason?.trim() ?? "";
  if (change.date !== undefined) {
    if (!realDate(change.date))
      errors.push({ pointer: "/date", code: "date", message: "date must be a date as YYYY-MM-DD" });
    else if (change.date > today)
      errors.push({ pointer: "/date", code: "future", message: "date cannot be after today" });
  }
  if (change.reason !== undefined && change.reason.length > MAX_REASON_LENGTH)
    errors.push({
      pointer: "/reason",
      code: "too-long",
      message: `reason must be at most ${MAX_REASON_LENGTH} characters`,
    });
  if (change.status === "withdrawn") {
    if (change.date === undefined)
      errors.push({ pointer: "/date", code: "required", message: "a withdrawal needs its date" });
    if (!reason)
      errors.push({ pointer: "/reason", code: "required", message: "a withdrawal needs its reason" });
  }
  const recorded = current.seq !== undefined;
  const reopening = recorded && isClosedStatus(current.status) && !isClosedStatus(change.status);
  if (reopening && !reason && change.status !== "withdrawn")
    errors.push({
      pointer: "/reason",
      code: "required",
      message: `going back from ${STATUS_LABEL[current.status].toLowerCase()} to ${STATUS_LABEL[change.status].toLowerCase()} needs a reason`,
    });
  if (errors.length > 0) return { kind: "invalid", errors };
  if (!recorded) return { kind: "change" };
  if (current.status === change.status)
    return {
      kind: "transition",
      message: `The subject is already ${STATUS_LABEL[current.status].toLowerCase()}.`,
    };
  if (!TRANSITIONS[current.status].includes(change.status))
    return {
      kind: "transition",
      message: `A subject cannot go from ${STATUS_LABEL[current.status].toLowerCase()} to ${STATUS_LABEL[change.status].toLowerCase()}; allowed: ${TRANSITIONS[current.status].map((s) => STATUS_LABEL[s].toLowerCase()).join(", ")}.`,
    };
  return { kind: "change" };
}
