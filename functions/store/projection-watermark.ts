import { BatchGetCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, isConditionFailure, itemKey } from "./dynamo.ts";
import { feedItems } from "./feed-index.ts";
import { readCurrentState } from "./form-instances.ts";
import { requiredString } from "./item-fields.ts";
import { keys } from "./keys.ts";

/**
 * The projection watermark: a feed position (GSI2's sort key,
 * `<committedAt>#<PK>#<SK>`, or a bare ISO time) up to which every commit's
 * projection is known to be at least that commit. Below it a projection can
 * be trusted without reading the log's revision keys; a commit whose writer
 * died between its commit and its projection is either repaired by the pass
 * that moved the watermark past it, or still after the watermark, where the
 * readers find it in the feed (`changedSinceWatermark`).
 *
 * Why it holds:
 * - the pass walks the feed from the stored watermark only up to
 *   `now − settle window`, like the feed's own pulls: a commit stamped before
 *   that point is visible in the index by then (the window outlasts a writer's
 *   timeout and the index's lag), so none can appear below the watermark later;
 * - projections only move forward (`putProjection`'s condition), so one found
 *   at or past a commit stays so;
 * - the watermark only moves forward (a conditional put), and a pass that read
 *   position P and checked (P, Q] makes everything up to Q checked.
 */

/** The study's watermark item, beside its definitions and export salt (in the study's partition). */
export const watermarkKey = (study: string) => ({ PK: keys.study(study), SK: "PROJECTION_WATERMARK" });

/** Feed entries the pass checks per call (a bounded request); the rest waits for the next pass. */
export const PASS_CHANGES = 5_000;
/** Changes after the watermark a reader takes one by one; past this it checks every casebook's log keys. */
export const CHECK_CHANGES = 1_000;
/** A position after every feed entry (ISO times start with a digit). */
const END = "~";

export async function readWatermark(db: Db, study: string): Promise<string | undefined> {
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: watermarkKey(study), ConsistentRead: true }),
  );
  return Item ? requiredString(Item, "position") : undefined;
}

interface FeedKey {
  position: string;
  /** The subject's partition, for a revision; undefined for a review entry (it projects nothing). */
  partition?: string;
  revisionKey?: string;
}

/**
 * Feed entries after `after` and before `before`, keys only (the index
 * projects whole items, so this saves transfer, not read units), at most
 * `limit`; `complete` when none is left in that range.
 */
async function feedKeys(
  db: Db,
  study: string,
  range: { after: string; before: string; limit: number },
): Promise<{ entries: FeedKey[]; complete: boolean }> {
  const entries: FeedKey[] = [];
  // One more than the limit is asked for: it tells "none left" from "more to come".
  for await (const { position, item } of feedItems(
    db,
    study,
    range.after,
    () => range.limit + 1 - entries.length,
    "#sk, PK, SK",
  )) {
    if (position >= range.before) return { entries, complete: true };
    if (entries.length === range.limit) return { entries, complete: false };
    const sk = requiredString(item, "SK");
    entries.push(
      sk.startsWith(keys.revisions)
        ? { position, partition: requiredString(item, "PK"), revisionKey: sk }
        : { position },
    );
  }
  return { entries, complete: true };
}

const subjectOfPartition = (study: string, partition: string) =>
  partition.slice(keys.subjectPartition(study, "").length);

/**
 * The subjects with a commit after the watermark (read now, the unsettled
 * part included), whose casebooks must be checked against the log; undefined
 * when there are more than `limit` changes (check every casebook).
 */
export async function changedSinceWatermark(
  db: Db,
  study: string,
  limit = CHECK_CHANGES,
): Promise<Set<string> | undefined> {
  const after = (await readWatermark(db, study)) ?? "0";
  const { entries, complete } = await feedKeys(db, study, { after, before: END, limit });
  if (!complete) return undefined;
  return new Set(entries.flatMap((e) => (e.partition ? [subjectOfPartition(study, e.partition)] : [])));
}

export interface WatermarkPass {
  from: string | undefined;
  to: string | undefined;
  /** Feed entries walked. */
  checked: number;
  /** Subjects whose projections were behind their log, repaired. */
  repaired: string[];
  /** Whether the pass reached the settled point (false: it stopped at `maxChanges`). */
  caughtUp: boolean;
}

/**
 * One repair pass: walks the feed from the watermark to `now − settleMs`,
 * compares each commit with its projection, repairs the casebooks found
 * behind (`readCurrentState`, the store's repair), then moves the watermark.
 * Bounded by `maxChanges`; a pass that stops there moves the watermark to the
 * last entry it checked.
 */
export async function advanceProjectionWatermark(
  db: Db,
  study: string,
  options: { settleMs: number; now?: number; maxChanges?: number },
): Promise<WatermarkPass> {
  const from = await readWatermark(db, study);
  const settled = new Date((options.now ?? Date.now()) - options.settleMs).toISOString();
  const pass: WatermarkPass = { from, to: from, checked: 0, repaired: [], caughtUp: true };
  if (from !== undefined && from >= settled) return pass;
  const { entries, complete } = await feedKeys(db, study, {
    after: from ?? "0",
    before: settled,
    limit: options.maxChanges ?? PASS_CHANGES,
  });
  pass.checked = entries.length;
  pass.caughtUp = complete;
  const behind = await subjectsBehind(db, entries);
  // One subject at a time keeps the pass's own load small; a crash is rare, so this is usually empty.
  for (const partition of behind) {
    const subject = subjectOfPartition(study, partition);
    await readCurrentState(db, study, subject);
    pass.repaired.push(subject);
  }
  const to = complete ? settled : entries.at(-1)?.position;
  if (to === undefined || (from !== undefined && to <= from)) return pass;
  try {
    await db.doc.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...watermarkKey(study), position: to, movedAt: new Date().toISOString() },
        ConditionExpression: "attribute_not_exists(PK) OR #p < :p",
        ExpressionAttributeNames: { "#p": "position" },
        ExpressionAttributeValues: { ":p": to },
      }),
    );
    pass.to = to;
  } catch (error) {
    // Another pass moved it as far or further: what this one checked is covered by it too.
    if (!isConditionFailure(error)) throw error;
    pass.to = await readWatermark(db, study);
  }
  return pass;
}

/** The partitions holding a commit whose projection is missing or older than it. */
async function subjectsBehind(db: Db, entries: FeedKey[]): Promise<Set<string>> {
  const latest = new Map<string, { PK: string; SK: string; rev: number }>();
  for (const e of entries) {
    if (!e.partition || !e.revisionKey) continue;
    const { data, rev } = keys.projectionOfRevision(e.revisionKey);
    const key = { PK: e.partition, SK: data };
    const seen = latest.get(itemKey(key));
    if (!seen || seen.rev < rev) latest.set(itemKey(key), { ...key, rev });
  }
  const wanted = [...latest.values()];
  const projected = new Map<string, number>();
  for (let i = 0; i < wanted.length; i += 100) {
    let pending: Record<string, unknown>[] = wanted.slice(i, i + 100).map(({ PK, SK }) => ({ PK, SK }));
    while (pending.length > 0) {
      const out = await db.doc.send(
        new BatchGetCommand({
          RequestItems: {
            [db.tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: "PK, SK, rev" },
          },
        }),
      );
      for (const item of out.Responses?.[db.tableName] ?? []) projected.set(itemKey(item), Number(item.rev));
      pending = (out.UnprocessedKeys?.[db.tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return new Set(wanted.filter((w) => (projected.get(itemKey(w)) ?? 0) < w.rev).map((w) => w.PK));
}
