import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { SaveReads } from "../engine/save-reads.ts";
import { type CommitStamp, sendWithinWindow } from "./commit-window.ts";
import { batchGetAll, type Db, isConditionFailure, itemKey, queryAll, type TableKey } from "./dynamo.ts";
import { keys } from "./keys.ts";
import type { MacKey } from "./mac-key.ts";
import {
  type InstanceAddress,
  projectionItem,
  type Revision,
  revisionItem,
  toRevision,
} from "./revision-item.ts";
import { sealRevision } from "./revision-seal.ts";
import { type SummaryDates, summarizeRevision } from "./subject-summary-item.ts";
import { type Subject, toSubject } from "./subjects.ts";

export type { InstanceAddress, Revision } from "./revision-item.ts";
export { toRevision } from "./revision-item.ts";

/** The latest committed revision of one instance: the truth, whatever the projection says. */
export async function readLatestRevision(db: Db, a: InstanceAddress): Promise<Revision | undefined> {
  const { Items } = await db.doc.send(
    new QueryCommand({
      TableName: db.tableName,
      KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
      ExpressionAttributeValues: {
        ":pk": keys.subjectPartition(a.study, a.subject),
        ":prefix": keys.revisionPrefix(a.event, a.form, a.instance),
      },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const item = Items?.[0];
  return item ? toRevision(item) : undefined;
}

/**
 * The commit: one conditional PutItem on a key that contains the revision
 * number, so of two writers racing from the same revision exactly one wins.
 */
async function commitRevision(
  db: Db,
  stamp: CommitStamp,
  revision: Revision,
): Promise<"committed" | "conflict"> {
  try {
    await sendWithinWindow(
      db,
      stamp,
      new PutCommand({
        TableName: db.tableName,
        Item: revisionItem(revision),
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
    return "committed";
  } catch (error) {
    if (isConditionFailure(error)) return "conflict";
    throw error;
  }
}

/**
 * Moves the current-state projection and the subject's dashboard summary
 * forward to a revision, both at once (one round trip); never backwards, so a
 * late or repeated call is harmless.
 */
export async function projectRevision(db: Db, revision: Revision, dates?: SummaryDates): Promise<void> {
  await Promise.all([putProjection(db, revision), summarizeRevision(db, revision, dates)]);
}

async function putProjection(db: Db, revision: Revision): Promise<void> {
  try {
    await db.doc.send(
      new PutCommand({
        TableName: db.tableName,
        Item: projectionItem(revision),
        ConditionExpression: "attribute_not_exists(PK) OR rev < :rev",
        ExpressionAttributeValues: { ":rev": revision.rev },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * Seals a revision onto the one it follows, commits it and projects it (the
 * projection then carries the chain's head: its rev, hash and MAC); when
 * another commit won the race, the revision that won. `stamp` is the one the
 * revision's `committedAt` was taken from: the commit is sent within its window.
 */
export async function commitAndProject(
  db: Db,
  macKey: MacKey,
  stamp: CommitStamp,
  revision: Revision,
  previous: Revision | undefined,
  dates?: SummaryDates,
): Promise<{ kind: "committed"; revision: Revision } | { kind: "stale"; current: Revision | undefined }> {
  if (revision.committedAt !== stamp.at) throw new Error("a revision's committedAt must be its stamp's");
  const sealed = await sealRevision(macKey, revision, previous);
  if ((await commitRevision(db, stamp, sealed)) === "conflict") {
    // The winner's projection may be missing (its writer died, or the caller read a lagging one): moved here.
    const current = await readLatestRevision(db, revision);
    if (current) await projectRevision(db, current);
    return { kind: "stale", current };
  }
  await projectRevision(db, sealed, dates);
  return { kind: "committed", revision: sealed };
}

export interface Casebook {
  subject: Subject | undefined;
  /** Current state of every form instance, latest revision each. */
  instances: Revision[];
  /** Every revision, oldest first per instance. */
  revisions: Revision[];
}

function queryPartition(
  db: Db,
  pk: string,
  prefix?: string,
  projection?: { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> },
): Promise<Record<string, unknown>[]> {
  return queryAll(db, {
    KeyConditionExpression: prefix ? "PK = :pk AND begins_with(SK, :prefix)" : "PK = :pk",
    ExpressionAttributeValues: prefix ? { ":pk": pk, ":prefix": prefix } : { ":pk": pk },
    ConsistentRead: true,
    ...projection,
  });
}

/**
 * Every attribute of a projection but its changes and the data not asked for
 * (a projection expression saves transfer, not read capacity, so the small
 * attributes come along and the item still decodes as a revision).
 */
const LEAN_ATTRIBUTES = [
  "PK",
  "SK",
  "study",
  "subject",
  "site",
  "event",
  "form",
  "instance",
  "rev",
  "status",
  "statusFrom",
  "definitionVersion",
  "committedAt",
  "committedBy",
  "reason",
  "action",
  // The export's default leaves out what is entered in error: a lean read must carry the mark too.
  "enteredInError",
  // Exports write a field's missing-data code in its column: small, so the whole map comes along.
  "missing",
];

/** A projection of an instance's attributes with only these fields of its data. */
function onlyFields(fields: string[]) {
  return {
    ProjectionExpression: [
      ...LEAN_ATTRIBUTES.map((_, i) => `#a${i}`),
      ...fields.map((_, i) => `#d.#f${i}`),
    ].join(","),
    // Every name through a placeholder: several (status, data, action…) are DynamoDB reserved words.
    ExpressionAttributeNames: {
      ...Object.fromEntries(LEAN_ATTRIBUTES.map((a, i) => [`#a${i}`, a])),
      // DynamoDB refuses a name the projection does not use: "#d" only when some field is read.
      ...(fields.length > 0 ? { "#d": "data" } : {}),
      ...Object.fromEntries(fields.map((f, i) => [`#f${i}`, f])),
    },
  };
}

/** Current state of each instance from the projections alone (cheap; may trail a commit whose writer died). */
export async function readProjections(db: Db, study: string, subject: string): Promise<Revision[]> {
  return (await queryPartition(db, keys.subjectPartition(study, subject), keys.projections)).map(toRevision);
}

/**
 * The current states a save needs (`saveReads`) and one instance's own
 * projection (its chain head), with other items known by key, in as few calls
 * as there can be: every item known by its key in one BatchGetItem, across
 * partitions (a Query reads one partition), and one Query per form read whole
 * at an event (or of every state, for `$latest`), all at once.
 */
export async function readProjectionsAndItems(
  db: Db,
  own: InstanceAddress,
  reads: SaveReads,
  extra: TableKey[],
): Promise<{
  projections: Revision[];
  own: Revision | undefined;
  items: Map<string, Record<string, unknown>>;
}> {
  const pk = keys.subjectPartition(own.study, own.subject);
  const ownKey = keys.data(own.event, own.form, own.instance);
  const exact = reads.all
    ? []
    : reads.slots.flatMap((s) => (s.instance === undefined ? [] : [keys.data(s.event, s.form, s.instance)]));
  const wholeForms = reads.all ? [] : reads.slots.filter((s) => s.instance === undefined);
  const ownCovered =
    reads.all ||
    exact.includes(ownKey) ||
    wholeForms.some((s) => s.event === own.event && s.form === own.form);
  const byKey = [...exact, ...(ownCovered ? [] : [ownKey])].map((SK) => ({ PK: pk, SK }));
  const [items, ...pages] = await Promise.all([
    batchGetAll(db, [...byKey, ...extra]),
    ...(reads.all
      ? [queryPartition(db, pk, keys.projections)]
      : wholeForms.map(({ event, form }) => queryPartition(db, pk, `${keys.projections}${event}#${form}#`))),
  ]);
  const projections = [
    ...pages.flat(),
    ...byKey.flatMap((k) => {
      const item = items.get(itemKey(k));
      return item ? [item] : [];
    }),
  ].map(toRevision);
  return {
    projections,
    own: projections.find((p) => p.event === own.event && p.form === own.form && p.instance === own.instance),
    items,
  };
}

/**
 * Current state of each instance exactly as the revision log has it, without
 * reading the log's values: the projections, and in parallel only the keys of
 * the revisions. An instance whose projection is behind its latest revision
 * (the writer died between commit and projection, or is between them now) is
 * read from the log and its projection repaired. Exports and the dashboard
 * read this way, so they never disagree with the audit trail.
 */
export async function readCurrentState(
  db: Db,
  study: string,
  subject: string,
  /**
   * Read only these fields of each instance's data (the dashboard needs a few dates, not the values);
   * the instances then come without their last changes (`changes` empty).
   * `checkLog: false`: the projections alone, for a subject known to have no
   * commit after the projection watermark (projection-watermark.ts).
   */
  options: { dataFields?: string[]; checkLog?: boolean } = {},
): Promise<Revision[]> {
  const pk = keys.subjectPartition(study, subject);
  const [projections, revisionKeys] = await Promise.all([
    options.dataFields
      ? queryPartition(db, pk, keys.projections, onlyFields(options.dataFields)).then((items) =>
          items.map((item): Record<string, unknown> => ({ data: {}, changes: [], ...item })),
        )
      : queryPartition(db, pk, keys.projections),
    options.checkLog === false
      ? []
      : queryAll(db, {
          KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
          ExpressionAttributeValues: { ":pk": pk, ":prefix": keys.revisions },
          ProjectionExpression: "SK",
          ConsistentRead: true,
        }),
  ]);
  const current = new Map(projections.map((item) => [String(item.SK), toRevision(item)]));
  // Revision keys in key order: the last key of an instance is its latest revision.
  const latest = new Map<string, { revSk: string; rev: number }>();
  for (const { SK } of revisionKeys) {
    const revSk = String(SK);
    const { data, rev } = keys.projectionOfRevision(revSk);
    latest.set(data, { revSk, rev });
  }
  const behind = [...latest].filter(([dataSk, { rev }]) => (current.get(dataSk)?.rev ?? 0) < rev);
  await Promise.all(
    behind.map(async ([dataSk, { revSk }]) => {
      const { Item } = await db.doc.send(
        new GetCommand({ TableName: db.tableName, Key: { PK: pk, SK: revSk }, ConsistentRead: true }),
      );
      if (!Item) return;
      const revision = toRevision(Item);
      await projectRevision(db, revision);
      current.set(dataSk, revision);
    }),
  );
  return [...current.values()];
}

/**
 * A subject's whole casebook in one Query of its partition. Current state is
 * taken from the revision log; any projection found behind it is repaired.
 */
export async function readCasebook(db: Db, study: string, subject: string): Promise<Casebook> {
  const items = await queryPartition(db, keys.subjectPartition(study, subject));
  let subjectItem: Subject | undefined;
  const revisions: Revision[] = [];
  const projected = new Map<string, number>();
  for (const item of items) {
    const type = item.type;
    if (type === "subject") subjectItem = toSubject(item);
    else if (type === "revision") revisions.push(toRevision(item));
    else if (type === "current") projected.set(String(item.SK), Number(item.rev));
  }
  const latest = new Map<string, Revision>();
  for (const r of revisions) latest.set(keys.data(r.event, r.form, r.instance), r); // SK order: last is latest
  const behind = [...latest].filter(([sk, r]) => (projected.get(sk) ?? 0) < r.rev).map(([, r]) => r);
  await Promise.all(behind.map((r) => projectRevision(db, r)));
  return {
    subject: subjectItem,
    instances: [...latest.values()],
    revisions,
  };
}

/** Every revision of one instance, oldest first: the history shown beside each field. */
export async function readRevisions(db: Db, a: InstanceAddress): Promise<Revision[]> {
  return (
    await queryPartition(
      db,
      keys.subjectPartition(a.study, a.subject),
      keys.revisionPrefix(a.event, a.form, a.instance),
    )
  ).map(toRevision);
}
