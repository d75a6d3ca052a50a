import { FORM_STATUS_CODE, type StudyDefinition } from "../engine/definition.ts";
import type { ReviewEntry } from "../engine/review.ts";
import type { FieldChange } from "../engine/revision.ts";
import type { Revision } from "../store/revision-item.ts";
import type { Subject } from "../store/subjects.ts";
import { exportNames, recordIdField, uniqueEventName, uniqueGroupName } from "./flat.ts";

/**
 * REDCap's logging export (`content=log`) built from the audit: the
 * enrolment, every revision and every review entry (queries, verification,
 * locks, signatures, subject status). Rows are REDCap's — timestamp
 * (`YYYY-MM-DD HH:MM`, UTC), username, action, details, record — with data
 * changes written as REDCap writes them (`field = 'value'`, checkboxes as
 * `field(code) = checked`), so scripts that parse REDCap's log read ours.
 */

/** REDCap's `logtype` values; exports, design changes, user rights and page views are not in the audit. */
export const LOG_TYPES = [
  "export",
  "manage",
  "user",
  "record",
  "record_add",
  "record_edit",
  "record_delete",
  "lock_record",
  "page_view",
] as const;
export type LogType = (typeof LOG_TYPES)[number];

export interface RedcapLogRow {
  timestamp: string;
  username: string;
  action: string;
  details: string;
  record: string;
}

/** A row with what filters need: its exact time and its log types. */
export interface LogEntry {
  at: string;
  types: ReadonlySet<LogType>;
  row: RedcapLogRow;
}

export interface LogReader {
  /** False for a reader of no identified data: identifier values and free text are withheld. */
  identified: boolean;
}

const ADD: ReadonlySet<LogType> = new Set(["record", "record_add"]);
const EDIT: ReadonlySet<LogType> = new Set(["record", "record_edit"]);
const LOCK: ReadonlySet<LogType> = new Set(["lock_record"]);
const RECORD: ReadonlySet<LogType> = new Set(["record"]);

/** REDCap's minute-precision time stamp. */
export const logTimestamp = (at: string) => `${at.slice(0, 10)} ${at.slice(11, 16)}`;

const quoted = (value: unknown) => `'${String(value).replaceAll("'", "\\'")}'`;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

const WITHHELD = "[identifier withheld]";

/** REDCap's field names per form, worked out once per definition (every entry of every subject asks). */
const namesByDefinition = new WeakMap<StudyDefinition, Map<string, Map<string, string>>>();
function redcapFieldNames(definition: StudyDefinition): Map<string, Map<string, string>> {
  let names = namesByDefinition.get(definition);
  if (!names) {
    names = exportNames(definition);
    namesByDefinition.set(definition, names);
  }
  return names;
}

/** One field's change as REDCap writes it; a checkbox names each option that changed. */
function changeText(name: string, change: FieldChange, withheld: boolean): string[] {
  if (withheld) return [`${name} = ${WITHHELD}`];
  if (change.newCode) return [`${name} = ${quoted(change.newCode)}`];
  if (Array.isArray(change.old) || Array.isArray(change.new)) {
    const before = new Set((Array.isArray(change.old) ? change.old : []).map(String));
    const after = new Set((Array.isArray(change.new) ? change.new : []).map(String));
    return [
      ...[...after].filter((c) => !before.has(c)).map((c) => `${name}(${c}) = checked`),
      ...[...before].filter((c) => !after.has(c)).map((c) => `${name}(${c}) = unchecked`),
    ];
  }
  return [`${name} = ${quoted(scalar(change.new))}`];
}

/** Where a change happened, as REDCap prefixes details in longitudinal and repeating projects. */
function place(definition: StudyDefinition, subject: Subject, event?: string, instance?: number): string[] {
  const where: string[] = [];
  if (event && event !== "logs") where.push(`[event = ${uniqueEventName(definition, event, subject.arm)}]`);
  if (instance !== undefined && instance > 1) where.push(`[instance = ${instance}]`);
  return where;
}

function revisionEntry(
  definition: StudyDefinition,
  subject: Subject,
  r: Revision,
  names: Map<string, Map<string, string>>,
  reader: LogReader,
): LogEntry {
  const fields = definition.instruments[r.form]?.properties ?? {};
  const where = place(definition, subject, r.event, r.instance);
  const reason = reader.identified && r.reason ? [`reason = ${quoted(r.reason)}`] : [];
  const edit = (details: string[]): LogEntry => ({
    at: r.committedAt,
    types: EDIT,
    row: {
      timestamp: logTimestamp(r.committedAt),
      username: r.committedBy,
      action: `Updated Record ${subject.id}`,
      details: [...where, ...details, ...reason].join(", "),
      record: subject.id,
    },
  });
  if (r.action)
    return edit([`${r.action === "entered-in-error" ? "Entered in error" : "Restored"}: ${r.form}`]);
  const changed = r.changes.flatMap((ch) =>
    changeText(
      names.get(r.form)?.get(ch.field) ?? ch.field,
      ch,
      !reader.identified && fields[ch.field]?.["x-identifier"] === true,
    ),
  );
  const status = r.statusFrom !== r.status ? [`${r.form}_complete = '${FORM_STATUS_CODE[r.status]}'`] : [];
  return edit([...changed, ...status]);
}

/** How REDCap's Data Resolution Workflow words each step of a query. */
const QUERY_STEPS = {
  "query-open": "Opened query",
  "query-answer": "Responded to query",
  "query-close": "Closed query",
  "query-reopen": "Reopened query",
} as const;

/** What a review entry did, in words; free text only for readers of identified data. */
function reviewDetails(
  entry: ReviewEntry,
  reader: LogReader,
  names: Map<string, Map<string, string>>,
): { action: string; details: string[] } {
  const text = (t?: string) => (reader.identified && t ? [`Comment: ${t}`] : []);
  const target = [
    ...(entry.target.form ? [`Form: ${entry.target.form}`] : []),
    ...(entry.target.field
      ? [`Field: ${names.get(entry.target.form ?? "")?.get(entry.target.field) ?? entry.target.field}`]
      : []),
  ];
  const record = entry.subject ? ` ${entry.subject}` : "";
  switch (entry.action) {
    case "lock":
    case "unlock": {
      const scope = entry.subject ? (entry.target.form ? "instrument" : "record") : "project";
      const verb = entry.action === "lock" ? "Lock" : "Unlock";
      return {
        action: `Lock/Unlock Record${record}`,
        details: [
          `Action: ${verb} ${scope}`,
          ...target,
          ...(reader.identified && entry.reason ? [`Reason: ${entry.reason}`] : []),
        ],
      };
    }
    case "sign":
      return {
        action: `Lock/Unlock Record${record}`,
        details: ["Action: Save e-signature", ...target, `Meaning: ${entry.meaning}`],
      };
    case "verify":
      return { action: `Source Data Verification${record}`, details: ["Verified", ...target] };
    case "subject-status":
      return { action: `Updated Record${record}`, details: [`subject_status = ${quoted(entry.status)}`] };
    case "query-open":
    case "query-answer":
    case "query-close":
    case "query-reopen":
      return {
        action: `Data Resolution Workflow${record}`,
        details: [QUERY_STEPS[entry.action], ...target, ...text(entry.text)],
      };
  }
}

const REVIEW_TYPES: Record<ReviewEntry["action"], ReadonlySet<LogType>> = {
  lock: LOCK,
  unlock: LOCK,
  sign: LOCK,
  verify: RECORD,
  "subject-status": EDIT,
  "query-open": RECORD,
  "query-answer": RECORD,
  "query-close": RECORD,
  "query-reopen": RECORD,
};

export function reviewLogEntry(
  definition: StudyDefinition,
  entry: ReviewEntry,
  reader: LogReader,
  arm?: string,
): LogEntry {
  const { action, details } = reviewDetails(entry, reader, redcapFieldNames(definition));
  const where =
    entry.target.event && arm ? [`[event = ${uniqueEventName(definition, entry.target.event, arm)}]`] : [];
  return {
    at: entry.at,
    types: REVIEW_TYPES[entry.action],
    row: {
      timestamp: logTimestamp(entry.at),
      username: entry.by,
      action,
      details: [...where, ...details].join(", "),
      record: entry.subject ?? "",
    },
  };
}

/** One subject's log: its creation (REDCap's first row of a record), then every revision and review entry. */
export function subjectLogEntries(
  definition: StudyDefinition,
  subject: Subject,
  revisions: Revision[],
  review: ReviewEntry[],
  reader: LogReader,
): LogEntry[] {
  const names = redcapFieldNames(definition);
  const created: LogEntry = {
    at: subject.enrolledAt,
    types: ADD,
    row: {
      timestamp: logTimestamp(subject.enrolledAt),
      username: subject.enrolledBy,
      action: `Created Record ${subject.id}`,
      details: [
        `${recordIdField(definition)} = ${quoted(subject.id)}`,
        `redcap_data_access_group = ${quoted(uniqueGroupName(subject.site))}`,
      ].join(", "),
      record: subject.id,
    },
  };
  return [
    created,
    ...revisions.map((r) => revisionEntry(definition, subject, r, names, reader)),
    ...review.map((e) => reviewLogEntry(definition, e, reader, subject.arm)),
  ];
}

export interface LogFilters {
  logtype?: LogType;
  user?: string;
  record?: string;
  /** Inclusive start and exclusive end, ISO. */
  from?: string;
  until?: string;
}

/** The entries the filters keep, newest first, as REDCap lists its log. */
export function logRows(entries: LogEntry[], filters: LogFilters): RedcapLogRow[] {
  return entries
    .filter(
      (e) =>
        (!filters.logtype || e.types.has(filters.logtype)) &&
        (!filters.user || e.row.username === filters.user) &&
        (!filters.record || e.row.record === filters.record) &&
        (!filters.from || e.at >= filters.from) &&
        (!filters.until || e.at < filters.until),
    )
    .sort((a, b) => b.at.localeCompare(a.at))
    .map((e) => e.row);
}
