import { randomBytes } from "node:crypto";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { ReviewEntry } from "../engine/review.ts";
import { type Db, isConditionFailure } from "./dynamo.ts";
import { feedItems } from "./feed-index.ts";
import { type Revision, readCasebook, readCurrentState } from "./form-instances.ts";
import { type Item, MalformedItemError, requiredString } from "./item-fields.ts";
import { keys } from "./keys.ts";
import { toReviewEntry } from "./review-log.ts";
import { toFeedEntry } from "./revision-item.ts";
import { getSubject, type Subject, toSubject } from "./subjects.ts";
import { TABLE } from "./table-shape.ts";

/**
 * Reads for exports, built so memory stays flat: subjects a page at a time
 * (ordered by id, resumable from a cursor), each subject's casebook read only
 * when its rows are written, a few ahead.
 */

export interface SubjectPage {
  subjects: Subject[];
  /** The last subject id of the page, when more follow. */
  next?: string;
}

export async function subjectPage(
  db: Db,
  study: string,
  sites: string[],
  options: { after?: string; limit: number; only?: string[] },
): Promise<SubjectPage> {
  if (options.only) {
    // A named handful: read them directly.
    const wanted = [...new Set(options.only)]
      .sort()
      .filter((id) => options.after === undefined || id > options.after);
    const found = (await Promise.all(wanted.map((id) => getSubject(db, study, id)))).filter(
      (s): s is Subject => s !== undefined && sites.includes(s.site),
    );
    const subjects = found.slice(0, options.limit);
    const last = subjects.at(-1);
    return { subjects, ...(last && found.length > options.limit ? { next: last.id } : {}) };
  }
  // Each site's subjects are in id order in the index: take the next `limit` + 1 of each, merge, keep `limit`.
  const { name, partitionKey, sortKey } = TABLE.indexes.bySite;
  const perSite = await Promise.all(
    sites.map(async (site) => {
      const { Items = [] } = await db.doc.send(
        new QueryCommand({
          TableName: db.tableName,
          IndexName: name,
          KeyConditionExpression: options.after === undefined ? "#pk = :pk" : "#pk = :pk AND #sk > :after",
          ExpressionAttributeNames:
            options.after === undefined ? { "#pk": partitionKey } : { "#pk": partitionKey, "#sk": sortKey },
          ExpressionAttributeValues: {
            ":pk": keys.siteIndex(study, site),
            ...(options.after === undefined ? {} : { ":after": keys.subjectIndex(options.after) }),
          },
          Limit: options.limit + 1,
        }),
      );
      return Items.map(toSubject);
    }),
  );
  const merged = perSite.flat().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const subjects = merged.slice(0, options.limit);
  const last = subjects.at(-1);
  return { subjects, ...(last && merged.length > options.limit ? { next: last.id } : {}) };
}

/**
 * Each subject with its current form instances as the revision log has them (projections checked
 * against the log's keys and repaired), reading `ahead` subjects concurrently.
 */
export async function* casebooks(
  db: Db,
  study: string,
  subjects: Subject[],
  options: {
    ahead?: number;
    withRevisions?: boolean;
    includeEnteredInError?: boolean;
    dataFields?: string[];
    /**
     * Check against the log's revision keys only the casebooks with a commit
     * after the projection watermark (read from the feed before any casebook):
     * below it every projection is known to match its log. Without it, every
     * casebook's keys are read.
     */
    sinceWatermark?: boolean;
  } = {},
): AsyncGenerator<{ subject: Subject; instances: Revision[]; revisions?: Revision[] }> {
  const ahead = options.ahead ?? 4;
  // Before the casebooks: a commit visible in the feed now is then caught whenever its casebook is read.
  const changed =
    options.sinceWatermark && !options.withRevisions && subjects.length > 0
      ? await (await import("./projection-watermark.ts")).changedSinceWatermark(db, study)
      : undefined;
  const checkLog = (s: Subject) => !options.sinceWatermark || changed === undefined || changed.has(s.id);
  const read = async (s: Subject) => {
    const found = options.withRevisions
      ? await readCasebook(db, study, s.id).then(({ instances, revisions }) => ({ instances, revisions }))
      : {
          instances: await readCurrentState(db, study, s.id, {
            dataFields: options.dataFields,
            checkLog: checkLog(s),
          }),
        };
    return options.includeEnteredInError ? { subject: s, ...found } : withoutEnteredInError(s, found);
  };
  // A read ahead can fail before its turn (or after the consumer stopped): mark it handled so the
  // failure reaches the consumer when awaited instead of crashing the process as an unhandled rejection.
  const start = (s: Subject) => {
    const p = read(s);
    p.catch(() => {});
    return p;
  };
  const pending = subjects.slice(0, ahead).map(start);
  for (let i = 0; i < subjects.length; i++) {
    const next = subjects[i + ahead];
    if (next) pending.push(start(next));
    // shift, not index: a casebook once written must not stay referenced until the page ends.
    const head = pending.shift();
    if (head) yield await head;
  }
}

/**
 * Every export leaves out, by default, the instances currently marked as
 * entered in error, with their history: the one place that decides it.
 */
function withoutEnteredInError(
  subject: Subject,
  found: { instances: Revision[]; revisions?: Revision[] },
): { subject: Subject; instances: Revision[]; revisions?: Revision[] } {
  const key = (r: Revision) => `${r.event}\u0000${r.form}\u0000${r.instance}`;
  const marked = new Set(found.instances.filter((i) => i.enteredInError).map(key));
  if (marked.size === 0) return { subject, ...found };
  return {
    subject,
    instances: found.instances.filter((i) => !marked.has(key(i))),
    ...(found.revisions ? { revisions: found.revisions.filter((r) => !marked.has(key(r))) } : {}),
  };
}

/** What the change feed carries: data revisions, and the review log's entries (queries, verification, locks…). */
export type FeedChange = ({ kind: "revision" } & Revision) | ({ kind: "review" } & ReviewEntry);

export interface FeedPage {
  changes: FeedChange[];
  /** Where the next pull starts: the sort key of the last change delivered, or the settled point reached. */
  cursor: string;
}

/**
 * Revisions in commit order after `cursor`, up to the settled point: commits
 * stamped later than `settledBefore` are left for a later pull, because a
 * commit (and the index that carries it) can become visible a little after its
 * timestamp. Everything up to the settled point is visible, so advancing the
 * cursor never skips a change, and it never delivers one twice.
 *
 * One key condition (`> cursor`) for the whole pull, continued page by page
 * with `ExclusiveStartKey` only: DynamoDB rejects a start key outside the key
 * condition, so the condition must not move with the pages. A DynamoDB page
 * can hold fewer items than asked (1 MB), so the pull goes on until `limit`
 * changes, the settled point or the end: a short answer means "caught up".
 */
export async function readFeed(
  db: Db,
  study: string,
  options: { cursor?: string; settledBefore: string; limit: number },
): Promise<FeedPage> {
  const changes: FeedChange[] = [];
  // ISO timestamps start with a digit above "0", so "0" is before every change (a key value cannot be empty).
  const after = options.cursor || "0";
  let cursor = after;
  for await (const { position, item } of feedItems(db, study, after, () => options.limit - changes.length)) {
    if (position >= options.settledBefore) break;
    changes.push(
      item.type === "review"
        ? { kind: "review", ...toReviewEntry(item) }
        : { kind: "revision", ...toFeedEntry(item).revision },
    );
    cursor = position;
    if (changes.length >= options.limit) break;
  }
  return { changes, cursor };
}

/** The study's export salt if it was made already; reading it never writes. */
export async function findExportSalt(db: Db, study: string): Promise<string | undefined> {
  const { Item } = await db.doc.send(
    new GetCommand({
      TableName: db.tableName,
      Key: { PK: keys.study(study), SK: keys.exportSalt },
      ConsistentRead: true,
    }),
  );
  return Item ? toExportSalt(Item) : undefined;
}

export function toExportSalt(item: Item): string {
  const salt = requiredString(item, "salt");
  // An empty salt would de-identify nothing (and `exportSalt` would try to make one forever).
  if (salt === "") throw new MalformedItemError(item, "salt", "a non-empty string");
  return salt;
}

/** The study's de-identification key (date shifts, hashed ids, feed cursors): random, made once, kept in the table. */
export async function exportSalt(db: Db, study: string): Promise<string> {
  const key = { PK: keys.study(study), SK: keys.exportSalt };
  const found = await findExportSalt(db, study);
  if (found) return found;
  const salt = randomBytes(32).toString("base64url");
  try {
    await db.doc.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...key, salt },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
    return salt;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return exportSalt(db, study);
  }
}
