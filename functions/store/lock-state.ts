import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { activeLocks, sameTarget } from "../engine/locks.ts";
import { type ReviewEntry, type ReviewTarget, within } from "../engine/review.ts";
import { type Db, isConditionFailure, type TableKey } from "./dynamo.ts";
import { type Item, isMap, MalformedItemError } from "./item-fields.ts";
import { keys } from "./keys.ts";

/**
 * The locks a review log holds (the study's log: the freeze), kept as one
 * small item beside the log so that a save reads one item per log instead of
 * two whole logs. The log stays the truth; this item may only err towards
 * locked: a mark is written before its lock is appended and cleared after its
 * unlock is, so a crash between the two leaves something marked that the log
 * says is free, never the reverse. A save that finds a mark covering its
 * instance asks the logs (`readReviews`) and clears the marks they disprove
 * (`repairLockState`); a save that finds no item at all asks the logs too and
 * writes the item from them. Each mark carries the seq its lock was (to be)
 * appended at: that is how a mark whose attempt failed is told from one whose
 * lock is still being appended.
 */

/** One lock as the state item marks it: its target, the seq of its log entry, when it was marked. */
export interface LockMark {
  target: ReviewTarget;
  seq: number;
  at: string;
}

/** A lock attempt cannot be in flight longer than this (a Lambda runs 15 minutes at most). */
const LONGEST_ATTEMPT_MS = 15 * 60_000;

const MARK = "lock ";

/** The state item's key: in the subject's partition, or the study's for the freeze. */
export function lockStateKey(study: string, subject?: string): TableKey {
  return {
    PK: subject === undefined ? keys.study(study) : keys.subjectPartition(study, subject),
    SK: keys.lockState,
  };
}

/** One attribute per target: two marks of different targets never overwrite each other. */
function markAttribute(target: ReviewTarget): string {
  return `${MARK}${target.event ?? ""}#${target.form ?? ""}#${target.instance ?? ""}`;
}

/** The marks of a state item; undefined when there is no item (nothing known: ask the log). */
export function toLockMarks(item: Item | undefined): LockMark[] | undefined {
  if (!item) return undefined;
  const marks: LockMark[] = [];
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(MARK)) continue;
    if (!isMap(value) || !isMap(value.target) || typeof value.seq !== "number")
      throw new MalformedItemError(item, name, "a lock's target and seq");
    marks.push({ target: value.target as ReviewTarget, seq: value.seq, at: String(value.at) });
  }
  return marks;
}

/**
 * Whether the state items alone show the instance free of every lock and of
 * the freeze. False when either item is missing or a mark covers it: then the
 * logs decide.
 */
export function marksLeaveFree(
  subject: LockMark[] | undefined,
  study: LockMark[] | undefined,
  target: ReviewTarget,
): boolean {
  if (!subject || !study) return false;
  return study.length === 0 && !subject.some((m) => within(target, m.target));
}

const markValue = (target: ReviewTarget, seq: number, now: Date): LockMark => ({
  target,
  seq,
  at: now.toISOString(),
});

/** Writes the item from the log unless one exists: a mark written meanwhile is never overwritten. */
async function createFromLog(db: Db, key: TableKey, log: readonly ReviewEntry[], now: Date): Promise<void> {
  const marks = Object.fromEntries(
    activeLocks(log).map((l) => [markAttribute(l.target), markValue(l.target, l.seq, now)]),
  );
  try {
    await db.doc.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...key, type: "lock-state", ...marks },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** The item of a log that holds nothing yet (a subject just enrolled), unless one exists. */
export function createLockState(db: Db, key: TableKey): Promise<void> {
  return createFromLog(db, key, [], new Date());
}

/**
 * Before a lock is appended at `seq` (read from a log ending at seq - 1): the
 * item made from that log if there was none, then the lock's mark.
 */
export async function markBeforeLock(
  db: Db,
  key: TableKey,
  log: readonly ReviewEntry[],
  target: ReviewTarget,
  seq: number,
  now = new Date(),
): Promise<void> {
  await createFromLog(db, key, log, now);
  await db.doc.send(
    new UpdateCommand({
      TableName: db.tableName,
      Key: key,
      UpdateExpression: "SET #m = :m",
      ExpressionAttributeNames: { "#m": markAttribute(target) },
      ExpressionAttributeValues: { ":m": markValue(target, seq, now) },
    }),
  );
}

/**
 * After an unlock is appended: the mark of the lock it ended (appended at
 * `lockSeq`) is cleared; a newer lock's mark of the same target stays.
 */
export async function clearAfterUnlock(
  db: Db,
  key: TableKey,
  target: ReviewTarget,
  lockSeq: number,
): Promise<void> {
  await removeMark(db, key, target, lockSeq);
}

async function removeMark(db: Db, key: TableKey, target: ReviewTarget, seq: number): Promise<void> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: key,
        UpdateExpression: "REMOVE #m",
        ConditionExpression: "#m.seq = :seq",
        ExpressionAttributeNames: { "#m": markAttribute(target) },
        ExpressionAttributeValues: { ":seq": seq },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * Brings a state item in line with its log, read AFTER the item (`marks`):
 * writes it from the log if missing, adds a lock the log holds and the item
 * lacks, and clears each mark the log disproves. A mark is disproved when its
 * target is not locked in the log and its lock cannot still be on its way:
 * the log already reached its seq (an append at that seq either is in the log
 * or can no longer happen: a lock is appended only at the seq it marked), or
 * it is older than any attempt can run. Each clear is conditional on the
 * mark's seq, so a mark written since is kept.
 */
export async function repairLockState(
  db: Db,
  key: TableKey,
  marks: LockMark[] | undefined,
  log: readonly ReviewEntry[],
  now = new Date(),
): Promise<void> {
  if (!marks) return createFromLog(db, key, log, now);
  const active = activeLocks(log);
  const head = log.at(-1)?.seq ?? 0;
  const missing = active.filter((l) => !marks.some((m) => sameTarget(m.target, l.target) && m.seq === l.seq));
  const disproved = marks.filter(
    (m) =>
      !active.some((l) => sameTarget(l.target, m.target)) &&
      (m.seq <= head ||
        now.getTime() - Date.parse(m.at) > LONGEST_ATTEMPT_MS ||
        Number.isNaN(Date.parse(m.at))),
  );
  await Promise.all([
    ...missing.map((l) =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.tableName,
          Key: key,
          UpdateExpression: "SET #m = :m",
          ExpressionAttributeNames: { "#m": markAttribute(l.target) },
          ExpressionAttributeValues: { ":m": markValue(l.target, l.seq, now) },
        }),
      ),
    ),
    ...disproved.map((m) => removeMark(db, key, m.target, m.seq)),
  ]);
}
