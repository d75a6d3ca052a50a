import { randomBytes } from "node:crypto";
import type { StudyDefinition } from "../engine/definition.ts";
import {
  type ExportFile,
  exportFileKey,
  type WriteProgress,
  writeExportFile,
} from "../exports/export-files.ts";
import { odmExport } from "../exports/odm-export.ts";
import {
  RECORDS_CONTENT_TYPE,
  type RecordsFormat,
  recordChunks,
  subjectStatuses,
  subjectsById,
} from "../exports/records.ts";
import { CHECKPOINT_PART_BYTES, openResumableFile } from "../exports/resumable-file.ts";
import { openCursor } from "../exports/sealed-cursor.ts";
import type { WarehouseScope } from "../exports/warehouse.ts";
import { warehouseJob } from "../exports/warehouse-job.ts";
import { WAREHOUSE_FORMATS } from "../store/export-job-formats.ts";
import type { ExportCheckpoint, ExportJob, ExportJobFile, ExportJobStep } from "../store/export-jobs.ts";
import type { ExportTarget, StoredParts } from "../store/export-target.ts";
import { personLabel } from "../store/people.ts";
import type { Store } from "../store/store.ts";
import type { Subject } from "../store/subjects.ts";
import { exportOptionsFor, exportSitesOf } from "./export-scope.ts";

/**
 * Works a bulk export job: as its starter (the principal stored at the start),
 * against the definition version of the start, the subjects of the starter's
 * sites in id order, written through the export target while progress is
 * committed every `progressEvery` subjects (each write renewing the lease).
 * A run that dies leaves a lease that expires. A flat file (CSV, JSON,
 * NDJSON) commits a checkpoint with each part it stores, and the next run
 * carries on after it; ODM and the warehouse formats start again from the
 * first subject (a partial object is dropped or, in S3, left to the
 * lifecycle's abort of incomplete uploads). The access log gets
 * the end with each file's SHA-256 before the job is done, so no file is
 * handed out without its entry.
 */

export interface ExportRunOptions {
  owner?: string;
  /** Do not start a run once this time (ms since the epoch) has passed: the lease is released for another runner. */
  deadline?: number;
  /** How long a lease lasts without a progress write. */
  leaseMs?: number;
  /** Subjects between progress writes. */
  progressEvery?: number;
  /** The clock leases are read against (tests move it on). */
  now?: () => number;
  /** How long a commit may take to become visible in the change feed (as the app's feedSettleMs). */
  feedSettleMs?: number;
  /** Tests: the warehouse's part and page bounds. */
  warehouse?: Pick<WarehouseScope, "partRows" | "bufferBytes" | "pageSize">;
  /** Tests: the run dies after this many subjects, its lease held, as a crashed process leaves it. */
  dieAfterSubjects?: number;
  /** Once this time has passed, the run stops at its next checkpoint, releasing the lease for the next run. */
  stopBy?: number;
  /** The part size of a resumable file (tests: small). */
  partBytes?: number;
}

export const DEFAULT_EXPORT_LEASE_MS = 120_000;
export const DEFAULT_PROGRESS_EVERY = 100;
/** As the app's default: in AWS a commit may become visible in the feed up to a minute after its stamp. */
export const DEFAULT_FEED_SETTLE_MS = 60_000;
/** Runs in a row without a new checkpoint before a job is failed: a job that makes no progress must not loop. */
export const MAX_EXPORT_RUNS = 3;

/** The formats whose file a later run carries on from a checkpoint. */
export const RESUMABLE_EXPORT_FORMATS: readonly string[] = ["csv", "json", "ndjson"];

class LostLease extends Error {}
class SimulatedDeath extends Error {}
class Stopped extends Error {}
/** How a run ends without ending the job: nothing of its file is dropped, another run carries on. */
const leftForAnotherRun = (error: unknown) =>
  error instanceof LostLease || error instanceof SimulatedDeath || error instanceof Stopped;

export async function runExportJob(
  store: Store,
  target: ExportTarget,
  study: string,
  id: string,
  options: ExportRunOptions = {},
): Promise<ExportJob | undefined> {
  const owner = options.owner ?? randomBytes(6).toString("hex");
  const now = options.now ?? Date.now;
  const leaseMs = options.leaseMs ?? DEFAULT_EXPORT_LEASE_MS;
  const claimed = await store.exportJobs.claim(study, id, owner, now(), now() + leaseMs);
  if (!claimed) return store.exportJobs.get(study, id);
  let job = claimed;
  const step = async (s: ExportJobStep) => {
    const moved = await store.exportJobs.step(job, owner, s);
    if (!moved) throw new LostLease();
    job = moved;
    return moved;
  };
  const fail = async (error: string) => {
    await logEnd(store, job, "export-job-failed", { error });
    return step({ state: "failed", error, release: true });
  };
  try {
    if (options.deadline !== undefined && now() >= options.deadline)
      return await step({ state: job.state, release: true });
    const stalled = job.attempt - job.checkpointAttempt;
    if (stalled >= MAX_EXPORT_RUNS)
      return await fail(
        `The export stopped ${stalled} times without progress before it was written whole; start it again.`,
      );
    const definition = await store.definitions.version(study, job.definitionVersion);
    if (!definition) return await fail(`Definition version ${job.definitionVersion} is missing.`);
    const sites = exportSitesOf(job.principal, definition, job.request.sites);
    const subjects = await subjectsById(store, study, sites);
    const from = RESUMABLE_EXPORT_FORMATS.includes(job.request.format) ? job.checkpoint : undefined;
    // Subjects are listed anew: the run carries on after the last one the checkpoint holds, by id.
    const remaining = from ? subjects.filter((s) => s.id > from.lastSubject) : subjects;
    let done = subjects.length - remaining.length;
    let rows = from?.rows ?? 0;
    const progress = { bytes: from?.bytes ?? 0 };
    await step({
      state: "running",
      newRun: true,
      subjectsTotal: subjects.length,
      subjectsDone: done,
      rows,
      bytes: progress.bytes,
      leaseUntil: now() + leaseMs,
    });
    const every = options.progressEvery ?? DEFAULT_PROGRESS_EVERY;
    const checkpoint = async (subject: string, cut: (soon: boolean) => Promise<StoredParts | undefined>) => {
      const stopping = options.stopBy !== undefined && now() >= options.stopBy;
      const parts = await cut(stopping);
      if (!parts) return false;
      const at = { subjectsDone: done, lastSubject: subject, rows, bytes: progress.bytes };
      await step({
        state: "running",
        ...at,
        checkpoint: { ...at, ...parts },
        leaseUntil: now() + leaseMs,
      });
      if (stopping) throw new Stopped();
      return true;
    };
    let atBoundary: ((subject: string) => Promise<boolean>) | undefined;
    const onSubject = async (subject: string) => {
      done++;
      if (options.dieAfterSubjects !== undefined && done > options.dieAfterSubjects)
        throw new SimulatedDeath();
      if (await atBoundary?.(subject)) return;
      if (done % every === 0)
        await step({
          state: "running",
          subjectsDone: done,
          rows: rows,
          bytes: progress.bytes,
          leaseUntil: now() + leaseMs,
        });
    };
    const counted = (n: number) => {
      rows += n;
    };
    const stored = WAREHOUSE_FORMATS.includes(job.request.format)
      ? await writeWarehouse(store, target, definition, job, onSubject, progress, options)
      : RESUMABLE_EXPORT_FORMATS.includes(job.request.format)
        ? await writeResumableFile(store, target, definition, job, remaining, onSubject, progress, counted, {
            from,
            partBytes: options.partBytes ?? CHECKPOINT_PART_BYTES,
            boundary: (cut) => {
              atBoundary = (subject) => checkpoint(subject, cut);
            },
            // Once S3 completes the upload (or the local file is renamed) its parts are gone: a run
            // dying before `done` leaves no checkpoint, so the next one starts again rather than fail.
            completing: async () => {
              if (job.checkpoint)
                await step({ state: "running", dropCheckpoint: true, leaseUntil: now() + leaseMs });
            },
          })
        : await writeOneFile(store, target, definition, job, subjects, onSubject, progress, counted);
    const files: ExportJobFile[] = stored.files;
    const total = { rows: sum(files, "rows"), bytes: sum(files, "bytes") };
    await logEnd(store, job, "export-job-done", {
      subjects: subjects.length,
      ...total,
      files: files.map(({ name, bytes, rows, sha256 }) => ({ name, bytes, rows, sha256 })),
      ...(stored.nextCursor ? { nextCursor: stored.nextCursor } : {}),
    });
    return await step({
      state: "done",
      subjectsDone: subjects.length,
      ...total,
      files,
      ...(stored.nextCursor ? { nextCursor: stored.nextCursor } : {}),
      release: true,
    });
  } catch (error) {
    // Stopped at a checkpoint: the lease is released, a change that starts the next run.
    if (error instanceof Stopped)
      return step({ state: "running", release: true }).catch(() => store.exportJobs.get(study, id));
    // Another runner holds the job now, or (tests) this one "died": either way it is not this run's to end.
    if (leftForAnotherRun(error)) return store.exportJobs.get(study, id);
    console.error(`export job ${id} failed:`, error);
    return fail(`The export failed: ${(error as Error).message}`).catch(() =>
      store.exportJobs.get(study, id),
    );
  }
}

const sum = (files: ExportJobFile[], key: "rows" | "bytes") => files.reduce((n, f) => n + f[key], 0);

interface Stored {
  files: ExportJobFile[];
  nextCursor?: string;
}

async function writeOneFile(
  store: Store,
  target: ExportTarget,
  definition: StudyDefinition,
  job: ExportJob,
  subjects: Subject[],
  onSubject: (subject: string) => Promise<void>,
  progress: WriteProgress,
  counted: (rows: number) => void,
): Promise<Stored> {
  const file = await jobFile(store, definition, job, subjects, onSubject, counted);
  return {
    files: [await writeExportFile(target, exportFileKey(job.study, job.id, file.name), file, progress)],
  };
}

/**
 * A flat file (CSV, JSON, NDJSON) a later run can carry on: `boundary` is
 * handed the cut the runner makes at each subject's end, which stores a part
 * once one has gathered and commits it as the checkpoint. The file's rows
 * count the checkpoint's.
 */
async function writeResumableFile(
  store: Store,
  target: ExportTarget,
  definition: StudyDefinition,
  job: ExportJob,
  remaining: Subject[],
  onSubject: (subject: string) => Promise<void>,
  progress: WriteProgress,
  counted: (rows: number) => void,
  resume: {
    from: ExportCheckpoint | undefined;
    partBytes: number;
    boundary: (cut: (soon: boolean) => Promise<StoredParts | undefined>) => void;
    /** Before the object is made whole: a run dying after it must not carry on parts that are gone. */
    completing: () => Promise<void>;
  },
): Promise<Stored> {
  const file = await jobFile(store, definition, job, remaining, onSubject, counted, resume.from);
  const key = exportFileKey(job.study, job.id, file.name);
  const writing = await openResumableFile(target, key, file, {
    partBytes: resume.partBytes,
    progress,
    ...(resume.from ? { from: resume.from } : {}),
  });
  resume.boundary((soon) => writing.cut(soon));
  try {
    for await (const chunk of file.chunks) await writing.write(chunk);
    await resume.completing();
    const { bytes, sha256 } = await writing.end();
    return { files: [{ name: file.name, contentType: file.contentType, bytes, rows: file.rows(), sha256 }] };
  } catch (error) {
    await (leftForAnotherRun(error) ? writing.close() : writing.abort()).catch(() => {});
    throw error;
  }
}

/**
 * The warehouse formats: the tables' parts one at a time, then the manifest
 * and the DDL made from what was stored. A table row counts as a row; the
 * manifest and the DDL count none.
 */
async function writeWarehouse(
  store: Store,
  target: ExportTarget,
  definition: StudyDefinition,
  job: ExportJob,
  onSubject: (subject: string) => Promise<void>,
  progress: WriteProgress,
  options: ExportRunOptions,
): Promise<Stored> {
  const q = job.request;
  const flat = await exportOptionsFor(store, job.principal, definition, q);
  const salt = await store.exportSalt(job.study);
  let after: string | undefined;
  if (q.cursor !== undefined) {
    after = openCursor(salt, q.cursor);
    if (after === undefined) throw new Error("the cursor is not one this study gave out");
  }
  const reading = countingCasebooks(store, onSubject, 1);
  const settledBefore = new Date(
    (options.now ?? Date.now)() - (options.feedSettleMs ?? DEFAULT_FEED_SETTLE_MS),
  ).toISOString();
  const warehouse = warehouseJob(
    { ...store, casebooks: reading.casebooks },
    {
      definition,
      sites: exportSitesOf(job.principal, definition, q.sites),
      ...(flat.deidentify ? { deidentify: flat.deidentify } : {}),
      ...(q.includeEnteredInError ? { includeEnteredInError: true } : {}),
      ...(q.forms ? { forms: q.forms } : {}),
      ...options.warehouse,
    },
    q.format === "warehouse" ? { kind: "snapshot" } : { kind: "increment", from: q.cursor, after },
    settledBefore,
  );
  const key = (name: string) => exportFileKey(job.study, job.id, name);
  const files: ExportJobFile[] = [];
  for await (const file of warehouse.files)
    files.push(await writeExportFile(target, key(file.name), file, progress));
  const folder = `${job.study}/${job.id}/`;
  const index = warehouse.index(files, new Date().toISOString(), target.location?.(folder) ?? folder);
  for (const file of index.files) files.push(await writeExportFile(target, key(file.name), file, progress));
  return { files, nextCursor: index.manifest.cursor.next };
}

/** The end of a job in the study's access log, as its starter did it (a job has no request to take an origin from). */
async function logEnd(store: Store, job: ExportJob, action: string, details: Record<string, unknown>) {
  await store.appendAccessLog(job.study, {
    actor: job.principal.user,
    ...(job.principal.person ? { person: job.principal.person } : {}),
    action,
    details: { job: job.id, format: job.request.format, ...details },
  });
}

/** The job's one file: the flat records (CSV, JSON, NDJSON) or the ODM document. */
async function jobFile(
  store: Store,
  definition: StudyDefinition,
  job: ExportJob,
  subjects: Subject[],
  onSubject: (subject: string) => Promise<void>,
  counted: (rows: number) => void,
  /** A flat file carried on from this checkpoint: `subjects` are those after it. */
  from?: ExportCheckpoint,
): Promise<ExportFile> {
  const q = job.request;
  const options = await exportOptionsFor(store, job.principal, definition, q);
  const gz = q.gzip ? ".gz" : "";
  const passes = q.format === "odm" && q.audit ? 2 : 1;
  const reading = countingCasebooks(store, onSubject, passes);
  if (q.format === "odm") {
    let rows = 0;
    const people =
      q.audit && !options.deidentify
        ? (await store.listPeople()).map((p) => ({
            login: personLabel(p),
            ...(p.name ? { fullName: p.name } : {}),
            ...(p.email ? { email: p.email } : {}),
          }))
        : [];
    const chunks = await odmExport({ ...reading, listSubjects: async () => subjects }, definition, {
      people,
      sites: exportSitesOf(job.principal, definition, q.sites),
      clinicalData: true,
      audit: q.audit,
      includeEnteredInError: q.includeEnteredInError,
      ...(options.deidentify ? { deidentify: options.deidentify } : {}),
    });
    reading.onLastPass = () => rows++;
    return { name: `odm.xml${gz}`, contentType: "application/xml; charset=utf-8", chunks, rows: () => rows };
  }
  const format = q.format as RecordsFormat;
  const statuses = await subjectStatuses(store, job.study, subjects);
  let rows = from?.rows ?? 0;
  const chunks = recordChunks(
    reading,
    definition,
    subjects,
    { ...options, subjectStatuses: statuses },
    format,
    "people",
    (n) => {
      rows += n;
      counted(n);
    },
    from ? { rowsBefore: from.rows } : undefined,
  );
  return {
    name: `records.${format}${gz}`,
    contentType: RECORDS_CONTENT_TYPE[format],
    chunks,
    rows: () => rows,
  };
}

/**
 * The store's casebook reads, telling `onSubject` of each subject read in the
 * last pass (an audited ODM reads the casebooks twice: authors first).
 */
function countingCasebooks(store: Store, onSubject: (subject: string) => Promise<void>, passes: number) {
  let pass = 0;
  const reading = {
    onLastPass: () => {},
    readReviewLog: store.readReviewLog,
    casebooks: ((study, subjects, options) => {
      const source = store.casebooks(study, subjects, options);
      const last = ++pass === passes;
      return (async function* () {
        for await (const casebook of source) {
          yield casebook;
          if (last) {
            reading.onLastPass();
            await onSubject(casebook.subject.id);
          }
        }
      })();
    }) as Store["casebooks"],
  };
  return reading;
}
