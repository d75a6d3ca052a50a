import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, isConditionFailure, queryBySite } from "./dynamo.ts";
import { type Item, requiredNumber, text } from "./item-fields.ts";
import { keys } from "./keys.ts";
import { createLockState, lockStateKey } from "./lock-state.ts";
import type { Subject } from "./subject.ts";
import { createSummary } from "./subject-summary-item.ts";
import { TABLE } from "./table-shape.ts";

export type { Subject };

export type EnrolResult = { kind: "enrolled"; subject: Subject } | { kind: "exists" };

/**
 * Enrols a subject. Without an id, the next `<site code>-<nnn>` is taken from
 * a per-site counter; an id already taken by hand is skipped.
 */
export async function enrolSubject(
  db: Db,
  args: {
    study: string;
    site: string;
    siteCode: string;
    arm: string;
    id?: string;
    actor: string;
    now?: Date;
  },
): Promise<EnrolResult> {
  for (;;) {
    const id =
      args.id ?? `${args.siteCode}-${String(await nextSequence(db, args.study, args.site)).padStart(3, "0")}`;
    const subject: Subject = {
      study: args.study,
      id,
      site: args.site,
      arm: args.arm,
      enrolledAt: (args.now ?? new Date()).toISOString(),
      enrolledBy: args.actor,
    };
    try {
      await db.doc.send(
        new PutCommand({
          TableName: db.tableName,
          Item: subjectItem(subject),
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      );
      // After the subject, never before: a summary is only made for a subject that exists (a crash between
      // the two leaves it to repairSubjectSummary). The lock state now, so that the first save need not
      // make it (a crash leaves that to the save).
      await Promise.all([createSummary(db, subject), createLockState(db, lockStateKey(args.study, id))]);
      return { kind: "enrolled", subject };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (args.id !== undefined) return { kind: "exists" };
    }
  }
}

/** The subject item: its own key, and its place in its site's listing (the by-site index). */
export function subjectItem(subject: Subject): Item {
  return {
    PK: keys.subjectPartition(subject.study, subject.id),
    SK: keys.subject,
    type: "subject",
    ...subject,
    [TABLE.indexes.bySite.partitionKey]: keys.siteIndex(subject.study, subject.site),
    [TABLE.indexes.bySite.sortKey]: keys.subjectIndex(subject.id),
  };
}

async function nextSequence(db: Db, study: string, site: string): Promise<number> {
  const key = { PK: keys.study(study), SK: keys.subjectSequence(site) };
  const { Attributes } = await db.doc.send(
    new UpdateCommand({
      TableName: db.tableName,
      Key: key,
      UpdateExpression: "ADD #n :one",
      ExpressionAttributeNames: { "#n": "next" },
      ExpressionAttributeValues: { ":one": 1 },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  return requiredNumber({ ...key, ...Attributes }, "next");
}

export function toSubject(item: Item): Subject {
  return {
    study: text(item, "study"),
    id: text(item, "id"),
    site: text(item, "site"),
    arm: text(item, "arm"),
    enrolledAt: text(item, "enrolledAt"),
    enrolledBy: text(item, "enrolledBy"),
  };
}

/** Longest subject id enrolment accepts; a longer one cannot exist (and would overflow a DynamoDB key). */
export const MAX_SUBJECT_ID_LENGTH = 64;

export async function getSubject(db: Db, study: string, id: string): Promise<Subject | undefined> {
  if (id.length > MAX_SUBJECT_ID_LENGTH) return undefined;
  const { Item } = await db.doc.send(
    new GetCommand({
      TableName: db.tableName,
      Key: { PK: keys.subjectPartition(study, id), SK: keys.subject },
    }),
  );
  return Item ? toSubject(Item) : undefined;
}

/** Subjects of the given sites (whose id starts with `idPrefix`), through the by-site index, in id order per site. */
export async function listSubjects(
  db: Db,
  study: string,
  sites: string[],
  idPrefix?: string,
): Promise<Subject[]> {
  const sortPrefix = idPrefix === undefined ? undefined : keys.subjectIndex(idPrefix);
  const perSite = await Promise.all(
    sites.map((site) => queryBySite(db, keys.siteIndex(study, site), sortPrefix)),
  );
  return perSite.flat().map(toSubject);
}

/** Subjects past this count are dropped oldest first. */
const MAX_CACHED_SUBJECTS = 50_000;

/**
 * Subjects by study and id, kept once found: nothing changes a subject item
 * after enrolment (site and arm included; no code updates or deletes it), so a
 * kept one is never out of date. One not found is read again every time: it
 * may be enrolled in a moment.
 */
export function subjectCache(read: (study: string, id: string) => Promise<Subject | undefined>) {
  const found = new Map<string, Subject>();
  return {
    async get(study: string, id: string): Promise<Subject | undefined> {
      const key = `${study}\u0000${id}`;
      const kept = found.get(key);
      if (kept) return { ...kept };
      const subject = await read(study, id);
      if (!subject) return undefined;
      if (found.size >= MAX_CACHED_SUBJECTS) found.delete(found.keys().next().value as string);
      found.set(key, subject);
      return { ...subject };
    },
  };
}
