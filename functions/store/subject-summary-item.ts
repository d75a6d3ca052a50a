import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { FormStatus } from "../engine/definition.ts";
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
 * top-level attribute named after the instance's projection key (`DATA#…`):
 * its rev, form status, entered-in-error mark and the date values of its data
 * (day one and visit dates are among them; the dashboard needs nothing else).
 * An instance is written by one UpdateItem that sets only its own attribute,
 * on condition that the stored rev is lower: no read first, concurrent saves
 * of different forms never overwrite each other, and a late or repeated write
 * is harmless.
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
  /** Date-like values of the instance's data (ISO dates and date-times). */
  data: Record<string, string>;
}

export interface SubjectSummary {
  subject: Subject;
  /** Its recorded status (absent: none recorded, i.e. enrolled), and the review entry that set it. */
  status?: SubjectStatus;
  statusSeq?: number;
  instances: SummaryInstance[];
}

const INSTANCE_PREFIX = keys.projections;
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}/;

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

/** What the summary keeps of one revision. */
function entryOf(
  r: Pick<Revision, "event" | "form" | "instance" | "rev" | "status" | "data" | "enteredInError">,
) {
  const dates = Object.fromEntries(
    Object.entries(r.data).filter(
      (e): e is [string, string] => typeof e[1] === "string" && DATE_LIKE.test(e[1]),
    ),
  );
  return {
    e: r.event,
    f: r.form,
    n: r.instance,
    rev: r.rev,
    s: r.status,
    ...(r.enteredInError ? { x: true } : {}),
    d: dates,
  };
}

/** A whole summary item at once, for writers that build a study in bulk (seeding, benchmarks). */
export function summaryItem(
  subject: Subject,
  instances: Pick<Revision, "event" | "form" | "instance" | "rev" | "status" | "data" | "enteredInError">[],
): Record<string, unknown> {
  return {
    ...summaryKey(subject.study, subject.site, subject.id),
    type: "summary",
    ...subject,
    ...Object.fromEntries(instances.map((r) => [keys.data(r.event, r.form, r.instance), entryOf(r)])),
  };
}

/**
 * Moves one instance's entry forward to this revision; never backwards. A
 * subject without a summary item (enrolled before summaries, or its
 * enrolment died before writing it) is left to the repair.
 */
export async function summarizeRevision(db: Db, revision: Revision): Promise<void> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: summaryKey(revision.study, revision.site, revision.subject),
        UpdateExpression: "SET #i = :v",
        ConditionExpression: "attribute_exists(PK) AND (attribute_not_exists(#i) OR #i.#rev < :rev)",
        ExpressionAttributeNames: {
          "#i": keys.data(revision.event, revision.form, revision.instance),
          "#rev": "rev",
        },
        ExpressionAttributeValues: { ":v": entryOf(revision), ":rev": revision.rev },
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

export function toSummary(item: Record<string, unknown>): SubjectSummary {
  const instances: SummaryInstance[] = [];
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(INSTANCE_PREFIX) || typeof value !== "object" || value === null) continue;
    const v = value as Record<string, unknown>;
    instances.push({
      event: String(v.e),
      form: String(v.f),
      instance: Number(v.n),
      rev: Number(v.rev),
      status: v.s as FormStatus,
      enteredInError: v.x === true,
      data: (v.d ?? {}) as Record<string, string>,
    });
  }
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
