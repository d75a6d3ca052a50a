import { DeleteCommand, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, isConditionFailure, queryAll, queryBySite } from "./dynamo.ts";
import type { ExportJobRequest } from "./export-jobs.ts";
import { type Item, optionalText, text, texts } from "./item-fields.ts";
import { keys } from "./keys.ts";
import type { Principal } from "./principal.ts";
import { TABLE } from "./table-shape.ts";

/**
 * A scheduled export: one item in the study's partition (and in the by-site
 * index, so the tick lists every study's at once) holding the definition,
 * replaced only under its `version` (optimistic: a PUT names the version it
 * read), and the run state the tick writes under conditions of its own:
 * `lastRunDay` (one run per UTC day, however many ticks race), `pendingJob`
 * (an incremental's job not yet folded into its `cursor`).
 */

export type ExportScheduleKind = "full" | "incremental";

export interface ExportScheduleDefinition {
  study: string;
  name: string;
  kind: ExportScheduleKind;
  /** HH:MM, UTC. */
  at: string;
  /** The job each run starts, as a job start stores it (without a cursor: an incremental's is `cursor`). */
  request: ExportJobRequest;
  /** Who defined it last: the runs start as them, re-resolved at each run. */
  createdBy: Principal;
  /** Their export sites at the PUT: who may see the schedule. */
  sites: string[];
}

export interface ExportSchedule extends ExportScheduleDefinition {
  version: number;
  createdAt: string;
  updatedAt: string;
  lastRunDay?: string;
  lastJob?: string;
  /** An incremental's last job until the tick sees it end (done: the cursor moves on; failed: it stays). */
  pendingJob?: string;
  /** incremental: where the next job starts (a sealed change feed cursor; absent, from the start). */
  cursor?: string;
  lastError?: string;
}

const scheduleKey = (study: string, name: string) => ({
  PK: keys.study(study),
  SK: keys.exportSchedule(name),
});

function toSchedule(item: Item): ExportSchedule {
  const optional = Object.fromEntries(
    ["lastRunDay", "lastJob", "pendingJob", "cursor", "lastError"].flatMap((k) => {
      const v = optionalText(item, k);
      return v ? [[k, v]] : [];
    }),
  );
  return {
    study: text(item, "study"),
    name: text(item, "name"),
    kind: item.kind === "incremental" ? "incremental" : "full",
    at: text(item, "at"),
    request: JSON.parse(text(item, "request") || "{}") as ExportJobRequest,
    createdBy: JSON.parse(text(item, "createdBy") || "{}") as Principal,
    sites: texts(item, "sites"),
    version: typeof item.version === "number" ? item.version : 0,
    createdAt: text(item, "createdAt"),
    updatedAt: text(item, "updatedAt"),
    ...optional,
  };
}

export type PutOutcome =
  | { outcome: "created" | "replaced"; schedule: ExportSchedule }
  | { outcome: "exists" | "stale"; current?: ExportSchedule };

/**
 * Creates the schedule (`expectedVersion` undefined: only if it does not exist)
 * or replaces its definition (only if its version is still `expectedVersion`);
 * the run state stays, but an incremental given a `cursor` starts from it.
 */
export async function putExportSchedule(
  db: Db,
  schedule: ExportScheduleDefinition & { cursor?: string },
  expectedVersion: number | undefined,
  now = new Date(),
): Promise<PutOutcome> {
  const at = now.toISOString();
  const set: Record<string, unknown> = {
    type: "export-schedule",
    study: schedule.study,
    name: schedule.name,
    kind: schedule.kind,
    at: schedule.at,
    request: JSON.stringify(schedule.request),
    createdBy: JSON.stringify(schedule.createdBy),
    sites: schedule.sites,
    updatedAt: at,
    [TABLE.indexes.bySite.partitionKey]: keys.exportScheduleIndex,
    [TABLE.indexes.bySite.sortKey]: `${schedule.study}#${schedule.name}`,
    ...(schedule.cursor !== undefined ? { cursor: schedule.cursor } : {}),
  };
  const names: Record<string, string> = { "#version": "version" };
  const values: Record<string, unknown> = { ":one": 1, ":created": at };
  const assignments = Object.entries(set).map(([key, value], i) => {
    names[`#a${i}`] = key;
    values[`:a${i}`] = value;
    return `#a${i} = :a${i}`;
  });
  if (expectedVersion !== undefined) values[":expected"] = expectedVersion;
  try {
    const { Attributes } = await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: scheduleKey(schedule.study, schedule.name),
        UpdateExpression: `SET ${assignments.join(", ")}, createdAt = if_not_exists(createdAt, :created) ADD #version :one${
          schedule.kind === "full" ? " REMOVE #cursor" : ""
        }`,
        ConditionExpression:
          expectedVersion === undefined ? "attribute_not_exists(PK)" : "#version = :expected",
        ExpressionAttributeNames: { ...names, ...(schedule.kind === "full" ? { "#cursor": "cursor" } : {}) },
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return {
      outcome: expectedVersion === undefined ? "created" : "replaced",
      schedule: toSchedule(Attributes ?? {}),
    };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const current = await getExportSchedule(db, schedule.study, schedule.name);
    return { outcome: expectedVersion === undefined ? "exists" : "stale", ...(current ? { current } : {}) };
  }
}

export async function getExportSchedule(
  db: Db,
  study: string,
  name: string,
): Promise<ExportSchedule | undefined> {
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: scheduleKey(study, name), ConsistentRead: true }),
  );
  return Item && Item.type === "export-schedule" ? toSchedule(Item) : undefined;
}

export async function listExportSchedules(db: Db, study: string): Promise<ExportSchedule[]> {
  const items = await queryAll(db, {
    KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
    ExpressionAttributeValues: { ":pk": keys.study(study), ":prefix": keys.exportSchedulePrefix },
    ConsistentRead: true,
  });
  return items.filter((item) => item.type === "export-schedule").map(toSchedule);
}

/** Every study's schedules (the tick's list; the index is eventually consistent, the claim is not). */
export async function listAllExportSchedules(db: Db): Promise<ExportSchedule[]> {
  return (await queryBySite(db, keys.exportScheduleIndex))
    .filter((item) => item.type === "export-schedule")
    .map(toSchedule);
}

/** Deletes it (only at `expectedVersion` when given): whether it was there to delete. */
export async function deleteExportSchedule(
  db: Db,
  study: string,
  name: string,
  expectedVersion?: number,
): Promise<"deleted" | "missing" | "stale"> {
  try {
    await db.doc.send(
      new DeleteCommand({
        TableName: db.tableName,
        Key: scheduleKey(study, name),
        ConditionExpression:
          expectedVersion === undefined ? "attribute_exists(PK)" : "attribute_exists(PK) AND #version = :v",
        ...(expectedVersion !== undefined
          ? {
              ExpressionAttributeNames: { "#version": "version" },
              ExpressionAttributeValues: { ":v": expectedVersion },
            }
          : {}),
      }),
    );
    return "deleted";
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return (await getExportSchedule(db, study, name)) ? "stale" : "missing";
  }
}

/** What today's run of a schedule came to: a job started (its id, given before the job exists), or why not. */
export type DayOutcome = { job: string; pending: boolean } | { error: string };

/**
 * Takes today's run for the schedule as read (same version, not run today, no
 * pending job): exactly one of any number of racing ticks gets true.
 */
export async function claimScheduleDay(
  db: Db,
  schedule: ExportSchedule,
  day: string,
  outcome: DayOutcome,
): Promise<boolean> {
  const set =
    "error" in outcome
      ? "SET lastRunDay = :day, lastError = :error"
      : `SET lastRunDay = :day, lastJob = :job${outcome.pending ? ", pendingJob = :job" : ""} REMOVE lastError`;
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: scheduleKey(schedule.study, schedule.name),
        UpdateExpression: set,
        ConditionExpression:
          "#version = :v AND (attribute_not_exists(lastRunDay) OR lastRunDay <> :day) AND attribute_not_exists(pendingJob)",
        ExpressionAttributeNames: { "#version": "version" },
        ExpressionAttributeValues: {
          ":v": schedule.version,
          ":day": day,
          ...("error" in outcome ? { ":error": outcome.error } : { ":job": outcome.job }),
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/**
 * The pending job ended: done, the cursor moves to its `nextCursor`; failed
 * (or never made: `error`), the cursor stays so the next run covers the range again.
 */
export async function settlePendingJob(
  db: Db,
  schedule: ExportSchedule,
  job: string,
  end: { nextCursor?: string; error?: string },
): Promise<void> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: scheduleKey(schedule.study, schedule.name),
        UpdateExpression: `${end.nextCursor ? "SET #cursor = :cursor " : end.error ? "SET lastError = :error " : ""}REMOVE pendingJob`,
        ConditionExpression: "pendingJob = :job",
        ...(end.nextCursor ? { ExpressionAttributeNames: { "#cursor": "cursor" } } : {}),
        ExpressionAttributeValues: {
          ":job": job,
          ...(end.nextCursor ? { ":cursor": end.nextCursor } : {}),
          ...(!end.nextCursor && end.error ? { ":error": end.error } : {}),
        },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/** A started run that could not make its job: recorded on the schedule. */
export async function noteScheduleError(db: Db, schedule: ExportSchedule, error: string): Promise<void> {
  await db.doc
    .send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: scheduleKey(schedule.study, schedule.name),
        UpdateExpression: "SET lastError = :error",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeValues: { ":error": error },
      }),
    )
    .catch((e) => {
      if (!isConditionFailure(e)) throw e;
    });
}
