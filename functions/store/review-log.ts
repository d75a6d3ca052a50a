import { canonicalJson } from "../engine/canonical-json.ts";
import { activeLocks, sameTarget } from "../engine/locks.ts";
import type { ReviewAction, ReviewContent, ReviewEntry, ReviewTarget } from "../engine/review.ts";
import { appendChained } from "./chained-append.ts";
import { type Db, queryAll, queryBySite } from "./dynamo.ts";
import {
  type Item,
  isMap,
  MalformedItemError,
  maybeString,
  requiredNumber,
  requiredString,
} from "./item-fields.ts";
import { keys } from "./keys.ts";
import { clearAfterUnlock, lockStateKey, markBeforeLock } from "./lock-state.ts";
import type { MacKey } from "./mac-key.ts";
import { summarizeStatus } from "./subject-summary-item.ts";
import { TABLE } from "./table-shape.ts";

/** An entry about to be appended: everything but its seq and time, which the append decides. */
export type ReviewRequest = ReviewAction & {
  study: string;
  subject?: string;
  site?: string;
  by: string;
  person?: string;
  target: ReviewTarget;
};

/** One chain per subject, and one for the study (freeze); the id cannot be mistaken for an instance's. */
export function reviewChainId(study: string, subject: string | undefined): string {
  return canonicalJson(["review", study, subject ?? null]);
}

function partitionOf(study: string, subject: string | undefined): string {
  return subject === undefined ? keys.study(study) : keys.subjectPartition(study, subject);
}

/**
 * Every field an entry may say, all hashed. Listed (rather than "all but the
 * table's attributes") so index keys stay out; `satisfies` keeps the list
 * complete when an action gains a field.
 */
const HASHED = {
  study: true,
  subject: true,
  site: true,
  seq: true,
  at: true,
  by: true,
  person: true,
  target: true,
  action: true,
  query: true,
  text: true,
  assignee: true,
  rule: true,
  correction: true,
  covers: true,
  reason: true,
  name: true,
  meaning: true,
  authenticatedAt: true,
  status: true,
  date: true,
} as const satisfies Record<KeysOfUnion<ReviewContent>, true>;

type KeysOfUnion<T> = T extends unknown ? keyof T : never;

/** The hashed part of a stored entry, read field by field so that the table's own attributes stay out. */
export function reviewContent(item: Item): ReviewContent {
  const content: Record<string, unknown> = {};
  for (const field of Object.keys(HASHED)) if (item[field] !== undefined) content[field] = item[field];
  return content as ReviewContent;
}

/**
 * Where an entry shows besides its chain: every entry is in the study's
 * change feed; query entries are also listed per site (the query list), and
 * status entries per site (the dashboard), each with one Query.
 */
function indexAttributes(entry: ReviewEntry): Item {
  const partition = partitionOf(entry.study, entry.subject);
  const sk = keys.reviewEntry(entry.seq);
  const feed = {
    [TABLE.indexes.feed.partitionKey]: keys.feed(entry.study),
    [TABLE.indexes.feed.sortKey]: keys.feedEntry(entry.at, partition, sk),
  };
  const site = entry.site;
  if (site === undefined || entry.subject === undefined) return feed;
  const bySite = TABLE.indexes.bySite;
  if (entry.action.startsWith("query-") && "query" in entry)
    return {
      ...feed,
      [bySite.partitionKey]: keys.siteQueries(entry.study, site),
      [bySite.sortKey]: `${entry.query}#${sk}`,
    };
  if (entry.action === "subject-status")
    return {
      ...feed,
      [bySite.partitionKey]: keys.siteStatuses(entry.study, site),
      [bySite.sortKey]: `${entry.subject}#${sk}`,
    };
  return feed;
}

/**
 * Appends one entry to the subject's review log (or the study's, without a
 * subject). A lock or unlock also keeps the log's lock state (lock-state.ts)
 * on the safe side of it: marked before a lock is appended, cleared after an
 * unlock is.
 */
export async function appendReview(
  db: Db,
  macKey: MacKey,
  request: ReviewRequest,
  options: { now?: () => Date; after?: number } = {},
): Promise<ReviewEntry> {
  if (request.action !== "lock" && request.action !== "unlock")
    return appendEntry(db, macKey, request, options);
  const key = lockStateKey(request.study, request.subject);
  for (let attempt = 1; ; attempt++) {
    // The log read here decides the one seq the lock may take: the mark names it.
    const log = await readReviewLog(db, request.study, request.subject);
    const head = log.at(-1)?.seq ?? 0;
    if (options.after !== undefined && head !== options.after) throw new ChainMovedError();
    try {
      if (request.action === "lock") {
        await markBeforeLock(db, key, log, request.target, head + 1, options.now?.());
        return await appendEntry(db, macKey, request, { ...options, after: head });
      }
      const ended = activeLocks(log).find((l) => sameTarget(l.target, request.target));
      const entry = await appendEntry(db, macKey, request, { ...options, after: head });
      if (ended) await clearAfterUnlock(db, key, request.target, ended.seq);
      return entry;
    } catch (error) {
      // Another entry got in first: with the caller's head, the caller decides again; without, read again.
      if (!(error instanceof ChainMovedError) || options.after !== undefined) throw error;
      if (attempt >= LOCK_ATTEMPTS)
        throw new Error(`the review log of ${request.subject ?? request.study} is too busy to lock`);
    }
  }
}

/**
 * Reads the log (the subject's, or the study's without one), lets `decide`
 * say what to append from it (or throw its refusal), and appends that only
 * on the head it read: if another entry got in between, the log is read and
 * `decide` asked again. So every status change, lock and unlock in a log was
 * allowed by the state right before it; of two racing ones, the second is
 * decided against the first and refused (as transitionQuery does for queries).
 */
export async function appendDecided(
  db: Db,
  macKey: MacKey,
  log: { study: string; subject?: string },
  decide: (entries: ReviewEntry[]) => ReviewRequest,
): Promise<ReviewEntry> {
  for (let attempt = 1; ; attempt++) {
    const entries = await readReviewLog(db, log.study, log.subject);
    const request = decide(entries);
    try {
      return await appendReview(db, macKey, request, { after: entries.at(-1)?.seq ?? 0 });
    } catch (error) {
      if (!(error instanceof ChainMovedError)) throw error;
      if (attempt >= LOCK_ATTEMPTS)
        throw new Error(
          `the review log of ${log.subject ?? log.study} moved under ${attempt} attempts in a row`,
        );
    }
  }
}

/** How often a lock reads the log again when other entries keep getting in first. */
const LOCK_ATTEMPTS = 50;

async function appendEntry(
  db: Db,
  macKey: MacKey,
  request: ReviewRequest,
  options: {
    now?: () => Date;
    /**
     * The seq of the head the caller decided on (0 for an empty log): if
     * another entry got in since, nothing is appended and ChainMovedError is
     * thrown, so the caller can read again and decide again.
     */
    after?: number;
  } = {},
): Promise<ReviewEntry> {
  const entry = await appendChained<ReviewContent>(db, macKey, {
    partition: partitionOf(request.study, request.subject),
    prefix: keys.reviewPrefix,
    key: keys.reviewEntry,
    chainId: reviewChainId(request.study, request.subject),
    label: `the review log of ${request.subject ?? request.study}`,
    ...(options.now ? { now: options.now } : {}),
    content: (seq, at) => {
      if (options.after !== undefined && seq !== options.after + 1) throw new ChainMovedError();
      return { ...withoutUndefined(request), seq, at } as ReviewContent;
    },
    attributes: (e) => ({ type: "review", ...indexAttributes(e) }),
  });
  // The dashboard shows the status from the subject's summary (a crash before this is for the repair).
  if (entry.action === "subject-status" && entry.subject !== undefined && entry.site !== undefined)
    await summarizeStatus(db, entry.study, entry.site, entry.subject, entry);
  return entry;
}

/** The review log gained an entry after the caller read it: read again, decide again. */
export class ChainMovedError extends Error {
  override name = "ChainMovedError";
  constructor() {
    super("the review log moved since it was read");
  }
}

/** DynamoDB refuses undefined attributes, and a hash must not depend on them either. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** A subject's review log (the study's, without a subject), in append order. */
export async function readReviewLog(db: Db, study: string, subject?: string): Promise<ReviewEntry[]> {
  const items = await queryAll(db, {
    KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
    ExpressionAttributeValues: { ":pk": partitionOf(study, subject), ":prefix": keys.reviewPrefix },
    ConsistentRead: true,
  });
  return items.map(toReviewEntry);
}

/** Every query entry of a site, grouped by query in key order (the query list folds them). */
export async function readSiteQueryEntries(db: Db, study: string, site: string): Promise<ReviewEntry[]> {
  return (await queryBySite(db, keys.siteQueries(study, site))).map(toReviewEntry);
}

/** Every subject-status entry of a site, by subject then seq. */
export async function readSiteStatusEntries(db: Db, study: string, site: string): Promise<ReviewEntry[]> {
  return (await queryBySite(db, keys.siteStatuses(study, site))).map(toReviewEntry);
}

/**
 * The strict decoder of a review item: the envelope field by field; the
 * action's own fields as stored (they are hashed, so the chain walk vouches
 * for them).
 */
export function toReviewEntry(item: Item): ReviewEntry {
  const target = item.target;
  if (!isMap(target)) throw new MalformedItemError(item, "target", "a map");
  const entry = {
    ...reviewContent(item),
    study: requiredString(item, "study"),
    seq: requiredNumber(item, "seq"),
    at: requiredString(item, "at"),
    by: requiredString(item, "by"),
    action: requiredString(item, "action"),
    target: target as ReviewTarget,
    previousHash: requiredString(item, "previousHash"),
    hash: requiredString(item, "hash"),
    mac: requiredString(item, "mac"),
  };
  // Refuses a subject, site or person that is not text.
  for (const field of ["subject", "site", "person"] as const) maybeString(item, field);
  return entry as ReviewEntry;
}
