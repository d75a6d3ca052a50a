import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { ReviewEntry } from "../engine/review.ts";
import type { Db } from "./dynamo.ts";
import { type Revision, readCurrentState } from "./form-instances.ts";
import { keys } from "./keys.ts";
import { readReviewLog } from "./review-log.ts";
import {
  createSummary,
  instanceAttribute,
  type SubjectSummary,
  type SummaryDates,
  summarizeRevision,
  summarizeStatus,
  summaryKey,
  toSummary,
} from "./subject-summary-item.ts";
import { listSubjects, type Subject } from "./subjects.ts";

/** Reading a page of the dashboard's summaries (subject-summary-item.ts says what they hold), and repairing them. */

export type { SubjectSummary, SummaryInstance } from "./subject-summary-item.ts";

export interface SummaryRange {
  /** One site's summaries; without it, the whole study (callers who see every site). */
  site?: string;
  /** Several sites (a caller who sees some of them): the key range from the first to the last, filtered. */
  sites?: string[];
  idPrefix?: string;
  arm?: string;
}

/**
 * One Query: up to `limit` summaries after the key `after` (a summary's sort
 * key), in key order; or, with `before`, the ones just before that key, in
 * reverse key order (a page back). `last` is the sort key to continue from,
 * or undefined at the end (or, backwards, the start) of the range. Filters
 * (arm, id prefix across sites, site subset) are applied by DynamoDB: the page
 * may hold fewer than `limit` items.
 */
export async function readSummaries(
  db: Db,
  study: string,
  range: SummaryRange,
  options: { after?: string; before?: string; limit: number },
): Promise<{ summaries: SubjectSummary[]; last?: string }> {
  const from = options.before ?? options.after;
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ":pk": keys.summaries(study) };
  const filters: string[] = [];
  let keyCondition = "PK = :pk";
  if (range.site !== undefined) {
    keyCondition += " AND begins_with(SK, :prefix)";
    values[":prefix"] = keys.summary(range.site, range.idPrefix ?? "");
  } else {
    if (range.sites !== undefined) {
      const sorted = [...range.sites].sort();
      keyCondition += " AND SK BETWEEN :from AND :to";
      values[":from"] = keys.summary(sorted[0] ?? "", "");
      values[":to"] = `${keys.summary(sorted.at(-1) ?? "", "")}\uffff`;
      filters.push(`#site IN (${sorted.map((_, i) => `:s${i}`).join(", ")})`);
      names["#site"] = "site";
      sorted.forEach((s, i) => {
        values[`:s${i}`] = s;
      });
    }
    if (range.idPrefix) {
      filters.push("begins_with(#id, :q)");
      names["#id"] = "id";
      values[":q"] = range.idPrefix;
    }
  }
  if (range.arm !== undefined) {
    filters.push("#arm = :arm");
    names["#arm"] = "arm";
    values[":arm"] = range.arm;
  }
  const page = await db.doc.send(
    new QueryCommand({
      TableName: db.tableName,
      KeyConditionExpression: keyCondition,
      ...(filters.length > 0 ? { FilterExpression: filters.join(" AND ") } : {}),
      ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
      ExpressionAttributeValues: values,
      Limit: options.limit,
      ...(options.before !== undefined ? { ScanIndexForward: false } : {}),
      ...(from !== undefined ? { ExclusiveStartKey: { PK: keys.summaries(study), SK: from } } : {}),
    }),
  );
  const last = page.LastEvaluatedKey?.SK;
  return {
    summaries: (page.Items ?? []).map(toSummary),
    ...(typeof last === "string" ? { last } : {}),
  };
}

/** The sort key of a summary (where a page that ends on it continues). */
export const summarySortKey = (s: SubjectSummary) => keys.summary(s.subject.site, s.subject.id);

/** What a repair changed in one subject's summary (nothing listed: it was up to date). */
export interface SummaryRepair {
  subject: string;
  site: string;
  /** The summary item was missing and is now built. */
  created: boolean;
  /** Instances (`event/form#n`) whose entry was missing, behind the log, or in the old, larger format. */
  instances: string[];
  /** The subject status was behind the review log. */
  status: boolean;
}

export const repaired = (r: SummaryRepair) => r.created || r.instances.length > 0 || r.status;

/**
 * Brings one subject's summary up to its logs: created if missing, each
 * instance whose entry is missing, behind its latest revision
 * (`readCurrentState` reads the log's truth) or still in the old format
 * rewritten, its status moved to the review log's last status entry. Writes
 * only what is behind; idempotent. `dates`: the summary's date fields
 * (`scheduleDateFields` of the study's definition).
 */
export async function repairSubjectSummary(
  db: Db,
  subject: Subject,
  dates?: SummaryDates,
): Promise<SummaryRepair> {
  const [instances, log] = await Promise.all([
    readCurrentState(db, subject.study, subject.id),
    readReviewLog(db, subject.study, subject.id),
  ]);
  // Read after the casebook: reading it may have repaired projections, and their summary entries with them.
  const { Item } = await db.doc.send(
    new GetCommand({
      TableName: db.tableName,
      Key: summaryKey(subject.study, subject.site, subject.id),
      ConsistentRead: true,
    }),
  );
  if (!Item) await createSummary(db, subject);
  const lastStatus = log
    .filter((e): e is ReviewEntry & { action: "subject-status" } => e.action === "subject-status")
    .sort((a, b) => a.seq - b.seq)
    .at(-1);
  const behind = instances.filter((r) => compactRevOf(Item, r) < r.rev);
  const statusBehind = lastStatus !== undefined && Number(Item?.statusSeq ?? -1) < lastStatus.seq;
  await Promise.all([
    ...behind.map((r) => summarizeRevision(db, { ...r, site: subject.site }, dates)),
    ...(lastStatus && statusBehind
      ? [summarizeStatus(db, subject.study, subject.site, subject.id, lastStatus)]
      : []),
  ]);
  return {
    subject: subject.id,
    site: subject.site,
    created: !Item,
    instances: behind.map((r) => `${r.event}/${r.form}#${r.instance}`),
    status: statusBehind,
  };
}

/** The rev of an instance's compact entry in a summary item (0: none, so an old-format entry is rewritten). */
function compactRevOf(item: Record<string, unknown> | undefined, r: Revision): number {
  const entry = item?.[instanceAttribute(r.event, r.form, r.instance)] as { r?: unknown } | undefined;
  return typeof entry?.r === "number" ? entry.r : 0;
}

/**
 * Repairs (or builds) every summary of these sites, `inFlight` subjects at a
 * time: the operator's path after a crash (`npm run summaries:repair`) and
 * the upgrade of old-format summaries. Returns the summaries it changed.
 */
export async function repairSummaries(
  db: Db,
  study: string,
  sites: string[],
  dates?: SummaryDates,
  inFlight = 8,
): Promise<SummaryRepair[]> {
  const subjects = await listSubjects(db, study, sites);
  const out: SummaryRepair[] = [];
  for (let i = 0; i < subjects.length; i += inFlight) {
    const done = await Promise.all(
      subjects.slice(i, i + inFlight).map((s) => repairSubjectSummary(db, s, dates)),
    );
    out.push(...done.filter(repaired));
  }
  return out;
}

/**
 * Builds the summary of every subject of these sites that has none (subjects
 * enrolled before summaries existed, or one whose enrolment died between the
 * subject item and its summary); how many it built. Cheap when none is
 * missing: the subject list and the summary keys, no casebook. Run at every
 * publish (deploy and local start), so an upgraded deployment's dashboard
 * lists every subject without anyone running a repair.
 */
export async function summarizeMissing(
  db: Db,
  study: string,
  sites: string[],
  dates?: SummaryDates,
): Promise<number> {
  const [subjects, present] = await Promise.all([listSubjects(db, study, sites), summaryKeys(db, study)]);
  const missing = subjects.filter((s) => !present.has(keys.summary(s.site, s.id)));
  for (let i = 0; i < missing.length; i += 8)
    await Promise.all(missing.slice(i, i + 8).map((s) => repairSubjectSummary(db, s, dates)));
  return missing.length;
}

async function summaryKeys(db: Db, study: string): Promise<Set<string>> {
  const found = new Set<string>();
  let after: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(
      new QueryCommand({
        TableName: db.tableName,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": keys.summaries(study) },
        ProjectionExpression: "SK",
        ...(after ? { ExclusiveStartKey: after } : {}),
      }),
    );
    for (const item of page.Items ?? []) if (typeof item.SK === "string") found.add(item.SK);
    after = page.LastEvaluatedKey;
  } while (after);
  return found;
}
