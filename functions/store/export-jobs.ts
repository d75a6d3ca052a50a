import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, isConditionFailure } from "./dynamo.ts";
import type { ExportJobFormat } from "./export-job-formats.ts";
import type { StoredParts } from "./export-target.ts";
import { type Item, optionalText, text, texts } from "./item-fields.ts";
import { claimLease, JOB_ID } from "./job-lease.ts";

import { keys } from "./keys.ts";
import type { Principal } from "./principal.ts";

/**
 * A bulk export kept as a job: one item in the study's partition with what
 * was asked, whose principal asked (as at the start), its state and
 * progress, and once done the files' sizes and SHA-256 hashes (kept after the
 * files expire). A runner holds a lease (job-lease.ts) while it writes; each
 * progress write renews it, conditioned on the lease and the run, so a
 * runner that lost the job stops at its next write. A flat file (CSV, JSON,
 * NDJSON) keeps a checkpoint at each stored part, and a run that dies is
 * carried on from it; other formats start again from the first subject
 * (`attempt` counts runs, `checkpointAttempt` the last that made progress).
 */

export type ExportJobState = "queued" | "running" | "done" | "failed";
export const RUNNABLE_EXPORT_STATES: readonly ExportJobState[] = ["queued", "running"];

/** What the caller asked, after the route's checks: the runner reads nothing else of the request. */
export interface ExportJobRequest {
  format: ExportJobFormat;
  forms?: string[];
  fields?: string[];
  events?: string[];
  /** The sites asked for (absent: all the starter's). */
  sites?: string[];
  deidentify: boolean;
  hashIds: boolean;
  includeEnteredInError: boolean;
  /** ODM: the revision history as AuditRecords. */
  audit: boolean;
  /** Files are gzipped (their names end ".gz"). */
  gzip: boolean;
  /** warehouse-changes: the change-feed cursor (sealed, as given out) the increment starts after. */
  cursor?: string;
}

/** A stored file as the writer reported it (exports/export-files.ts's WrittenFile). */
export interface ExportJobFile {
  name: string;
  contentType: string;
  bytes: number;
  rows: number;
  sha256: string;
}

/**
 * Where a run can be carried on: the parts stored so far and what they hold,
 * up to and including `lastSubject` (subjects are written in id order).
 */
export interface ExportCheckpoint extends StoredParts {
  subjectsDone: number;
  lastSubject: string;
  rows: number;
  bytes: number;
}

export interface ExportJob {
  id: string;
  study: string;
  state: ExportJobState;
  /** The definition version at the start: the job exports with it, or fails if another is published. */
  definitionVersion: number;
  request: ExportJobRequest;
  principal: Principal;
  startedBy: string;
  /** The starter's export sites: who may see the job. */
  sites: string[];
  /** Runs started so far. */
  attempt: number;
  /** The last run that committed a checkpoint (0: none): runs after it made no progress. */
  checkpointAttempt: number;
  checkpoint?: ExportCheckpoint;
  subjectsTotal: number;
  subjectsDone: number;
  rows: number;
  bytes: number;
  files: ExportJobFile[];
  /** A done warehouse job: where the next increment starts (its manifest's `cursor.next`). */
  nextCursor?: string;
  /** The scheduled export (export-schedules.ts) that started it. */
  schedule?: string;
  error?: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  leaseOwner?: string;
  leaseUntil?: number;
}

const jobKey = (study: string, id: string) => ({ PK: keys.study(study), SK: keys.exportJob(id) });

function number(item: Item, key: string): number {
  const v = item[key];
  return typeof v === "number" ? v : 0;
}

function toExportJob(item: Item): ExportJob {
  return {
    id: text(item, "id"),
    study: text(item, "study"),
    state: text(item, "state") as ExportJobState,
    definitionVersion: number(item, "definitionVersion"),
    request: JSON.parse(text(item, "request") || "{}") as ExportJobRequest,
    principal: JSON.parse(text(item, "principal") || "{}") as Principal,
    startedBy: text(item, "startedBy"),
    sites: texts(item, "sites"),
    attempt: number(item, "attempt"),
    checkpointAttempt: number(item, "checkpointAttempt"),
    ...(optionalText(item, "checkpoint")
      ? { checkpoint: JSON.parse(text(item, "checkpoint")) as ExportCheckpoint }
      : {}),
    subjectsTotal: number(item, "subjectsTotal"),
    subjectsDone: number(item, "subjectsDone"),
    rows: number(item, "rows"),
    bytes: number(item, "bytes"),
    files: JSON.parse(text(item, "files") || "[]") as ExportJobFile[],
    ...(optionalText(item, "nextCursor") ? { nextCursor: text(item, "nextCursor") } : {}),
    ...(optionalText(item, "schedule") ? { schedule: text(item, "schedule") } : {}),
    ...(optionalText(item, "error") ? { error: text(item, "error") } : {}),
    createdAt: text(item, "createdAt"),
    updatedAt: text(item, "updatedAt"),
    ...(optionalText(item, "finishedAt") ? { finishedAt: text(item, "finishedAt") } : {}),
    ...(optionalText(item, "leaseOwner") ? { leaseOwner: text(item, "leaseOwner") } : {}),
    ...(typeof item.leaseUntil === "number" ? { leaseUntil: item.leaseUntil } : {}),
  };
}

export interface NewExportJob {
  /** From `newJobId`: the route logs the start under the id before the job exists. */
  id: string;
  study: string;
  definitionVersion: number;
  request: ExportJobRequest;
  principal: Principal;
  sites: string[];
  /** The scheduled export starting it. */
  schedule?: string;
}

export async function createExportJob(db: Db, job: NewExportJob): Promise<ExportJob> {
  if (!JOB_ID.test(job.id)) throw new Error(`not a job id: ${job.id}`);
  const id = job.id;
  const createdAt = new Date().toISOString();
  const item = {
    ...jobKey(job.study, id),
    type: "export-job",
    id,
    study: job.study,
    state: "queued",
    definitionVersion: job.definitionVersion,
    request: JSON.stringify(job.request),
    principal: JSON.stringify(job.principal),
    startedBy: job.principal.user,
    sites: job.sites,
    attempt: 0,
    subjectsTotal: 0,
    subjectsDone: 0,
    rows: 0,
    bytes: 0,
    files: "[]",
    ...(job.schedule ? { schedule: job.schedule } : {}),
    createdAt,
    updatedAt: createdAt,
  };
  await db.doc.send(
    new PutCommand({ TableName: db.tableName, Item: item, ConditionExpression: "attribute_not_exists(PK)" }),
  );
  return toExportJob(item);
}

export async function getExportJob(db: Db, study: string, id: string): Promise<ExportJob | undefined> {
  if (!JOB_ID.test(id)) return undefined;
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: jobKey(study, id), ConsistentRead: true }),
  );
  return Item && Item.type === "export-job" ? toExportJob(Item) : undefined;
}

/**
 * Up to `limit` of the study's jobs, newest first, older than the job `before`;
 * `next` is the last one's id when more may follow. The caller filters what it
 * may see, so a page may hold fewer than `limit`.
 */
export async function listExportJobs(
  db: Db,
  study: string,
  page: { limit: number; before?: string },
): Promise<{ jobs: ExportJob[]; next?: string }> {
  const { Items, LastEvaluatedKey } = await db.doc.send(
    new QueryCommand({
      TableName: db.tableName,
      KeyConditionExpression: page.before
        ? "PK = :pk AND SK BETWEEN :prefix AND :before"
        : "PK = :pk AND begins_with(SK, :prefix)",
      ExpressionAttributeValues: {
        ":pk": keys.study(study),
        ":prefix": keys.exportJobPrefix,
        ...(page.before ? { ":before": keys.exportJob(page.before) } : {}),
      },
      ScanIndexForward: false,
      Limit: page.limit + (page.before ? 1 : 0),
    }),
  );
  const jobs = (Items ?? [])
    .filter((item) => item.type === "export-job" && item.id !== page.before)
    .map(toExportJob)
    .slice(0, page.limit);
  const last = jobs.at(-1);
  return { jobs, ...(LastEvaluatedKey && last ? { next: last.id } : {}) };
}

export async function claimExportJob(
  db: Db,
  study: string,
  id: string,
  owner: string,
  now: number,
  until: number,
): Promise<ExportJob | undefined> {
  const item = await claimLease(db, jobKey(study, id), RUNNABLE_EXPORT_STATES, owner, now, until);
  return item ? toExportJob(item) : undefined;
}

/** What a runner writes: progress (renewing its lease), a new run, or the end. */
export interface ExportJobStep {
  state: ExportJobState;
  /** Starts the next run: attempt + 1 and the progress back to zero (or to the given checkpoint's). */
  newRun?: boolean;
  /** Parts stored: a later run carries on from here. */
  checkpoint?: ExportCheckpoint;
  /** The file is being made whole: its parts are no longer there to carry on from. */
  dropCheckpoint?: boolean;
  subjectsTotal?: number;
  subjectsDone?: number;
  rows?: number;
  bytes?: number;
  files?: ExportJobFile[];
  nextCursor?: string;
  error?: string;
  /** The lease's new end; absent with `release`. */
  leaseUntil?: number;
  /** Ends the lease (the job finished, or the runner stops here). */
  release?: boolean;
}

/**
 * Moves the job (as the runner read it under its lease) by `step`, only if
 * the runner still holds the lease in the same run. The job as it now stands,
 * or undefined when the move lost (another runner took over): the runner stops.
 */
export async function stepExportJob(
  db: Db,
  from: ExportJob,
  owner: string,
  step: ExportJobStep,
): Promise<ExportJob | undefined> {
  const now = new Date().toISOString();
  const set: Record<string, unknown> = {
    state: step.state,
    updatedAt: now,
    ...(step.state === "done" || step.state === "failed" ? { finishedAt: now } : {}),
    ...(step.newRun ? { attempt: from.attempt + 1, subjectsDone: 0, rows: 0, bytes: 0, files: "[]" } : {}),
  };
  for (const key of [
    "subjectsTotal",
    "subjectsDone",
    "rows",
    "bytes",
    "nextCursor",
    "error",
    "leaseUntil",
  ] as const)
    if (step[key] !== undefined) set[key] = step[key];
  if (step.files) set.files = JSON.stringify(step.files);
  if (step.checkpoint) {
    set.checkpoint = JSON.stringify(step.checkpoint);
    set.checkpointAttempt = from.attempt;
  }
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ":owner": owner, ":attempt": from.attempt };
  const assignments = Object.entries(set).map(([key, value], i) => {
    names[`#a${i}`] = key;
    values[`:a${i}`] = value;
    return `#a${i} = :a${i}`;
  });
  const removals = [
    ...(step.release ? ["leaseOwner", "leaseUntil"] : []),
    ...(step.dropCheckpoint ? ["checkpoint"] : []),
  ];
  try {
    const { Attributes } = await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: jobKey(from.study, from.id),
        UpdateExpression: `SET ${assignments.join(", ")}${removals.length ? ` REMOVE ${removals.join(", ")}` : ""}`,
        ConditionExpression: "leaseOwner = :owner AND attempt = :attempt",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return Attributes ? toExportJob(Attributes) : undefined;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}
