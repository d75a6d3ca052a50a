import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, isConditionFailure } from "./dynamo.ts";
import { type Item, optionalText, text, texts } from "./item-fields.ts";
import { claimLease, JOB_ID, newJobId } from "./job-lease.ts";
import { keys } from "./keys.ts";
import type { Principal } from "./principal.ts";

/**
 * A record import too large for one request, kept as a job: one item with its
 * state and progress in the study's partition, and its form instances in
 * chunks (one chunk = one batch) in the job's own partition, each well under
 * DynamoDB's 400 KB item cap. A runner holds a lease on the job while it
 * works a batch; every step moves the progress with a write conditioned on
 * the lease and on the batch it finished, so two runners never both commit a
 * batch, and a runner that dies leaves a lease that expires.
 */

/** A value the import refused, by record, event and field (exports/redcap-records-in.ts's RefusedValue). */
export interface RefusedValue {
  record: string;
  event: string;
  field: string;
  value: string;
  message: string;
}

/** The rows are stored as the reader gave them: the store does not look inside. */
type ImportedInstance = object;

export type ImportJobState = "queued" | "checking" | "writing" | "done" | "failed";
export const RUNNABLE_STATES: readonly ImportJobState[] = ["queued", "checking", "writing"];

/** How many refused values a job keeps (the count is kept whole). */
export const REFUSED_KEPT = 100;
/** A chunk's JSON stays under this many bytes, whatever the batch size; one instance must fit alone. */
export const CHUNK_BYTES = 300_000;

export interface ImportJobOptions {
  overwrite: boolean;
  dryRun: boolean;
  dateFormat: string;
}

export interface ImportJob {
  id: string;
  study: string;
  state: ImportJobState;
  /** The definition version the rows were read with; the job fails if another is published meanwhile. */
  definitionVersion: number;
  options: ImportJobOptions;
  total: number;
  chunks: number;
  checkedChunks: number;
  writtenChunks: number;
  /** Instances checked; instances through the write step; of those, instances saved as a new revision. */
  checked: number;
  writeDone: number;
  written: number;
  refused: RefusedValue[];
  refusedCount: number;
  error?: string;
  startedBy: string;
  /** The starter's sites (for data entry): who may see the job. */
  sites: string[];
  principal: Principal;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  leaseOwner?: string;
  leaseUntil?: number;
}

const jobKey = (study: string, id: string) => ({ PK: keys.study(study), SK: keys.importJob(id) });
const chunkKey = (study: string, id: string, n: number) => ({
  PK: keys.importJobPartition(study, id),
  SK: keys.importChunk(n),
});

function number(item: Item, key: string): number {
  const v = item[key];
  return typeof v === "number" ? v : 0;
}

function toImportJob(item: Item): ImportJob {
  const options = JSON.parse(text(item, "options") || "{}") as ImportJobOptions;
  return {
    id: text(item, "id"),
    study: text(item, "study"),
    state: text(item, "state") as ImportJobState,
    definitionVersion: number(item, "definitionVersion"),
    options,
    total: number(item, "total"),
    chunks: number(item, "chunks"),
    checkedChunks: number(item, "checkedChunks"),
    writtenChunks: number(item, "writtenChunks"),
    checked: number(item, "checked"),
    writeDone: number(item, "writeDone"),
    written: number(item, "written"),
    refused: JSON.parse(text(item, "refused") || "[]") as RefusedValue[],
    refusedCount: number(item, "refusedCount"),
    ...(optionalText(item, "error") ? { error: text(item, "error") } : {}),
    startedBy: text(item, "startedBy"),
    sites: texts(item, "sites"),
    principal: JSON.parse(text(item, "principal") || "{}") as Principal,
    createdAt: text(item, "createdAt"),
    updatedAt: text(item, "updatedAt"),
    ...(optionalText(item, "finishedAt") ? { finishedAt: text(item, "finishedAt") } : {}),
    ...(optionalText(item, "leaseOwner") ? { leaseOwner: text(item, "leaseOwner") } : {}),
    ...(typeof item.leaseUntil === "number" ? { leaseUntil: item.leaseUntil } : {}),
  };
}

/** Instances in batches of at most `batchSize`, each batch's JSON under the chunk cap. */
export function chunkInstances<T>(instances: T[], batchSize: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const instance of instances) {
    const size = Buffer.byteLength(JSON.stringify(instance));
    if (current.length > 0 && (current.length >= batchSize || bytes + size > CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(instance);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export interface NewImportJob {
  study: string;
  definitionVersion: number;
  options: ImportJobOptions;
  principal: Principal;
  sites: string[];
  instances: object[];
  batchSize: number;
}

/** Stores the chunks, then the job item: a runner never finds a job whose rows are not all there. */
export async function createImportJob(db: Db, request: NewImportJob): Promise<ImportJob> {
  const now = new Date();
  const id = newJobId(now);
  const chunks = chunkInstances(request.instances, request.batchSize);
  const puts = chunks.map(
    (instances, n) => () =>
      db.doc.send(
        new PutCommand({
          TableName: db.tableName,
          Item: {
            ...chunkKey(request.study, id, n),
            type: "import-chunk",
            instances: JSON.stringify(instances),
          },
        }),
      ),
  );
  for (let i = 0; i < puts.length; i += 10) await Promise.all(puts.slice(i, i + 10).map((put) => put()));
  const createdAt = now.toISOString();
  const item = {
    ...jobKey(request.study, id),
    type: "import-job",
    id,
    study: request.study,
    state: "queued",
    definitionVersion: request.definitionVersion,
    options: JSON.stringify(request.options),
    total: request.instances.length,
    chunks: chunks.length,
    checkedChunks: 0,
    writtenChunks: 0,
    checked: 0,
    writeDone: 0,
    written: 0,
    refused: "[]",
    refusedCount: 0,
    startedBy: request.principal.user,
    sites: request.sites,
    principal: JSON.stringify(request.principal),
    createdAt,
    updatedAt: createdAt,
  };
  await db.doc.send(
    new PutCommand({ TableName: db.tableName, Item: item, ConditionExpression: "attribute_not_exists(PK)" }),
  );
  return toImportJob(item);
}

export async function getImportJob(db: Db, study: string, id: string): Promise<ImportJob | undefined> {
  if (!JOB_ID.test(id)) return undefined;
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: jobKey(study, id), ConsistentRead: true }),
  );
  return Item && Item.type === "import-job" ? toImportJob(Item) : undefined;
}

export async function listImportJobs(db: Db, study: string): Promise<ImportJob[]> {
  const jobs: ImportJob[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(
      new QueryCommand({
        TableName: db.tableName,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues: { ":pk": keys.study(study), ":prefix": keys.importJobPrefix },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) if (item.type === "import-job") jobs.push(toImportJob(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return jobs;
}

export async function readImportChunk<T = ImportedInstance>(
  db: Db,
  study: string,
  id: string,
  n: number,
): Promise<{ instances: T[]; planned?: number }> {
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: chunkKey(study, id, n), ConsistentRead: true }),
  );
  if (!Item) throw new Error(`import job ${id}: chunk ${n} is missing`);
  return {
    instances: JSON.parse(text(Item, "instances")) as T[],
    ...(typeof Item.planned === "number" ? { planned: Item.planned } : {}),
  };
}

/** A finished job's rows: a copy of subject data outside the audit trail, kept no longer than needed. */
export async function deleteImportChunks(db: Db, study: string, id: string, chunks: number): Promise<void> {
  for (let n = 0; n < chunks; n += 10)
    await Promise.all(
      Array.from({ length: Math.min(10, chunks - n) }, (_, i) =>
        db.doc.send(new DeleteCommand({ TableName: db.tableName, Key: chunkKey(study, id, n + i) })),
      ),
    );
}

/** What the check found a chunk would change: the write step counts it once the chunk is written. */
export async function notePlanned(db: Db, study: string, id: string, n: number, planned: number) {
  await db.doc.send(
    new UpdateCommand({
      TableName: db.tableName,
      Key: chunkKey(study, id, n),
      UpdateExpression: "SET planned = :p",
      ExpressionAttributeValues: { ":p": planned },
    }),
  );
}

/**
 * Takes (or renews) the job's lease for `owner` until `until`, unless another
 * runner holds one that has not expired or the job has finished; the job as
 * it now stands, or undefined.
 */
export async function claimImportJob(
  db: Db,
  study: string,
  id: string,
  owner: string,
  now: number,
  until: number,
): Promise<ImportJob | undefined> {
  const item = await claimLease(db, jobKey(study, id), RUNNABLE_STATES, owner, now, until);
  return item ? toImportJob(item) : undefined;
}

export interface JobStep {
  state: ImportJobState;
  checkedChunks?: number;
  writtenChunks?: number;
  checked?: number;
  writeDone?: number;
  written?: number;
  refused?: RefusedValue[];
  refusedCount?: number;
  error?: string;
  /** Ends the lease (the job finished, or the runner stops here). */
  release?: boolean;
}

/**
 * Moves the job from `from` (as the runner read it under its lease) to `step`:
 * only if the runner still holds the lease and nobody moved the job since.
 * False when the move lost (another runner took over): the runner stops.
 */
export async function stepImportJob(db: Db, from: ImportJob, owner: string, step: JobStep): Promise<boolean> {
  const now = new Date().toISOString();
  const set: Record<string, unknown> = {
    state: step.state,
    updatedAt: now,
    ...(step.state === "done" || step.state === "failed" ? { finishedAt: now } : {}),
  };
  for (const key of [
    "checkedChunks",
    "writtenChunks",
    "checked",
    "writeDone",
    "written",
    "refusedCount",
    "error",
  ] as const)
    if (step[key] !== undefined) set[key] = step[key];
  if (step.refused) set.refused = JSON.stringify(step.refused.slice(0, REFUSED_KEPT));
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {
    ":owner": owner,
    ":state0": from.state,
    ":checked0": from.checkedChunks,
    ":written0": from.writtenChunks,
  };
  const assignments = Object.entries(set).map(([key, value], i) => {
    names[`#a${i}`] = key;
    values[`:a${i}`] = value;
    return `#a${i} = :a${i}`;
  });
  names["#state"] = "state";
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: jobKey(from.study, from.id),
        UpdateExpression: `SET ${assignments.join(", ")}${step.release ? " REMOVE leaseOwner, leaseUntil" : ""}`,
        ConditionExpression:
          "leaseOwner = :owner AND #state = :state0 AND checkedChunks = :checked0 AND writtenChunks = :written0",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
