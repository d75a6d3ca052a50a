import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { FORM_STATUS_CODE, type FormStatus } from "../engine/definition.ts";
import type { SubjectStatus } from "../engine/review.ts";
import { isSubjectStatus } from "../engine/subject-status.ts";
import { type Db, isConditionFailure } from "./dynamo.ts";
import { keys } from "./keys.ts";
import type { Revision } from "./revision-item.ts";
import type { Subject } from "./subject.ts";

/**
 * Each subject's dashboard summary: one item per subject in a per-study
 * partition, sorted by site then subject id, so a page of the dashboard is one
 * Query whatever the study's size (all sites: the partition; one site: its
 * key range).
 *
 * The item holds the subject, its recorded status, and per form instance one
 * top-level attribute named `event#form#instance` holding its rev, form status
 * code, entered-in-error mark and the values of the date fields the schedule
 * reads (`scheduleDateFields`: day one and visit dates; the dashboard needs
 * nothing else). It is kept small because DynamoDB bills an UpdateItem on the
 * whole item: every byte here is paid again by every save of the subject.
 * An instance is written by one UpdateItem that sets only its own attribute,
 * on condition that the stored rev is lower: no read first, concurrent saves
 * of different forms never overwrite each other, and a late or repeated write
 * is harmless.
 *
 * Summaries written before (attributes named after the projection key,
 * `DATA#…`, with the event, form, full status name and every date-like value)
 * still read: `toSummary` takes either, the newer rev winning, and each write
 * removes the instance's old attribute, so an upgraded deployment's items
 * shrink as their forms are saved (or at once with `npm run summaries:repair`).
 *
 * It is written beside the projection (`projectRevision` writes both at once),
 * so every reader that repairs a projection repairs the summary too. A
 * process dying after the projection but before the summary leaves an entry
 * behind the log: its rev is lower than the instance's latest revision, which
 * is how `repairSubjectSummary` finds it (it also builds the summaries of
 * subjects enrolled before summaries existed).
 */

export interface SummaryInstance {
  event: string;
  form: string;
  instance: number;
  rev: number;
  status: FormStatus;
  enteredInError: boolean;
  /** The instance's values of the date fields the schedule reads. */
  data: Record<string, string>;
}

export interface SubjectSummary {
  subject: Subject;
  /** Its recorded status (absent: none recorded, i.e. enrolled), and the review entry that set it. */
  status?: SubjectStatus;
  statusSeq?: number;
  instances: SummaryInstance[];
}

/** Per form, the date fields a summary keeps (`scheduleDateFields`); without it, every date-like value. */
export type SummaryDates = Readonly<Record<string, readonly string[]>>;

/** Summaries before the compact entries: attributes named after the projection key. */
const OLD_PREFIX = keys.projections;
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}/;
const STATUS_OF = Object.fromEntries(Object.entries(FORM_STATUS_CODE).map(([s, c]) => [c, s])) as Record<
  number,
  FormStatus
>;

/** The instance's attribute: short, since DynamoDB bills names too (ids never hold `#`: the keys rely on it too). */
export const instanceAttribute = (event: string, form: string, instance: number) =>
  `${event}#${form}#${instance}`;
const INSTANCE_ATTRIBUTE = /^([^#]+)#([^#]+)#(\d+)$/;

export const summaryKey = (study: string, site: string, subject: string) => ({
  PK: keys.summaries(study),
  SK: keys.summary(site, subject),
});

/** The subject's summary, no instance yet: at enrolment (the instances' writes need the item to exist). */
export async function createSummary(db: Db, subject: Subject): Promise<void> {
  try {
    await db.doc.send(
      new PutCommand({
        TableName: db.tableName,
        Item: {
          ...summaryKey(subject.study, subject.site, subject.id),
          type: "summary",
          ...subject,
        },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

type Summarized = Pick<
  Revision,
  "event" | "form" | "instance" | "rev" | "status" | "data" | "enteredInError"
>;

/** What the summary keeps of one revision. */
function entryOf(r: Summarized, dates: SummaryDates | undefined) {
  const kept = dates ? (dates[r.form] ?? []) : Object.keys(r.data);
  const d = Object.fromEntries(
    kept
      .map((field) => [field, r.data[field]] as const)
      .filter((e): e is [string, string] => typeof e[1] === "string" && DATE_LIKE.test(e[1])),
  );
  return {
    r: r.rev,
    s: FORM_STATUS_CODE[r.status],
    ...(r.enteredInError ? { x: true } : {}),
    ...(Object.keys(d).length > 0 ? { d } : {}),
  };
}

/** A whole summary item at once, for writers that build a study in bulk (seeding, benchmarks). */
export function summaryItem(
  subject: Subject,
  instances: Summarized[],
  dates?: SummaryDates,
): Record<string, unknown> {
  return {
    ...summaryKey(subject.study, subject.site, subject.id),
    type: "summary",
    ...subject,
    ...Object.fromEntries(
      instances.map((r) => [instanceAttribute(r.event, r.form, r.instance), entryOf(r, dates)]),
    ),
  };
}

/**
 * Moves one instance's entry forward to this revision; never backwards. A
 * subject without a summary item (enrolled before summaries, or its
 * enrolment died before writing it) is left to the repair.
 */
export async function summarizeRevision(db: Db, revision: Revision, dates?: SummaryDates): Promise<void> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: summaryKey(revision.study, revision.site, revision.subject),
        // The old-format attribute goes (a no-op once gone); its condition keeps a late write from undoing a
        // newer one, and lets a repair rewrite an entry at the same rev in the compact format.
        UpdateExpression: "SET #i = :v REMOVE #old",
        ConditionExpression:
          "attribute_exists(PK) AND (attribute_not_exists(#i) OR #i.#r < :rev) AND (attribute_not_exists(#old) OR #old.#rev <= :rev)",
        ExpressionAttributeNames: {
          "#i": instanceAttribute(revision.event, revision.form, revision.instance),
          "#old": keys.data(revision.event, revision.form, revision.instance),
          "#r": "r",
          "#rev": "rev",
        },
        ExpressionAttributeValues: { ":v": entryOf(revision, dates), ":rev": revision.rev },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** Records a subject-status entry in the subject's summary, unless a later one is there. */
export async function summarizeStatus(
  db: Db,
  study: string,
  site: string,
  subject: string,
  entry: { status: SubjectStatus; seq: number },
): Promise<void> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: summaryKey(study, site, subject),
        UpdateExpression: "SET #st = :st, #seq = :seq",
        ConditionExpression: "attribute_exists(PK) AND (attribute_not_exists(#seq) OR #seq < :seq)",
        ExpressionAttributeNames: { "#st": "subjectStatus", "#seq": "statusSeq" },
        ExpressionAttributeValues: { ":st": entry.status, ":seq": entry.seq },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** One instance's entry, in either format; undefined for an attribute that is not one. */
function instanceOf(name: string, value: unknown): SummaryInstance | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const compact = INSTANCE_ATTRIBUTE.exec(name);
  if (compact) {
    return {
      event: compact[1] as string,
      form: compact[2] as string,
      instance: Number(compact[3]),
      rev: Number(v.r),
      status: STATUS_OF[Number(v.s)] ?? "incomplete",
      enteredInError: v.x === true,
      data: (v.d ?? {}) as Record<string, string>,
    };
  }
  if (!name.startsWith(OLD_PREFIX)) return undefined;
  return {
    event: String(v.e),
    form: String(v.f),
    instance: Number(v.n),
    rev: Number(v.rev),
    status: v.s as FormStatus,
    enteredInError: v.x === true,
    data: (v.d ?? {}) as Record<string, string>,
  };
}

export function toSummary(item: Record<string, unknown>): SubjectSummary {
  // Both formats can hold one instance (an old process still saving during the deploy): the later rev wins.
  const latest = new Map<string, SummaryInstance>();
  for (const [name, value] of Object.entries(item)) {
    const i = instanceOf(name, value);
    if (!i) continue;
    const key = instanceAttribute(i.event, i.form, i.instance);
    if ((latest.get(key)?.rev ?? 0) < i.rev) latest.set(key, i);
  }
  const instances = [...latest.values()];
  const status = item.subjectStatus;
  return {
    subject: {
      study: String(item.study),
      id: String(item.id),
      site: String(item.site),
      arm: String(item.arm),
      enrolledAt: String(item.enrolledAt),
      enrolledBy: String(item.enrolledBy),
    },
    ...(isSubjectStatus(status) ? { status, statusSeq: Number(item.statusSeq) } : {}),
    instances,
  };
}
