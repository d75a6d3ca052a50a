import { randomBytes } from "node:crypto";
import type { StudyDefinition } from "../engine/definition.ts";
import type { ImportedInstance, RefusedValue } from "../exports/redcap-records-in.ts";
import { type ImportJob, REFUSED_KEPT } from "../store/import-jobs.ts";
import type { Store } from "../store/store.ts";
import { type ImportOptions, importRecords } from "./redcap-import.ts";

/**
 * Works an import job batch by batch, with the sync import's semantics: every
 * batch is checked first (nothing written; refused values collected), and
 * only if no value was refused anywhere is each batch written through the
 * ordinary save path. A batch is one chunk; its progress is committed after
 * it, conditioned on the lease, so a runner that stops or dies mid-batch is
 * resumed from that batch: its saves already made are unchanged no-ops.
 */

export const importJobReason = (id: string) => `Imported (job ${id})`;

export interface RunOptions {
  /** Who holds the lease (default: a fresh id per run). */
  owner?: string;
  /** Stop (releasing the lease) once this time (ms since the epoch) has passed between batches. */
  deadline?: number;
  /** How long a lease lasts: longer than any one batch takes. */
  leaseMs?: number;
  /** Tests: stop after this many batches, as if the process had ended there. */
  maxBatches?: number;
}

export const DEFAULT_LEASE_MS = 120_000;

/** Runs the job until it is done or failed, the deadline passes, or another runner holds it. */
export async function runImportJob(
  store: Store,
  study: string,
  id: string,
  options: RunOptions = {},
): Promise<ImportJob | undefined> {
  const owner = options.owner ?? randomBytes(6).toString("hex");
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  let batches = 0;
  for (;;) {
    const now = Date.now();
    const job = await store.importJobs.claim(study, id, owner, now, now + leaseMs);
    if (!job) return store.importJobs.get(study, id);
    const outOfTime = options.deadline !== undefined && now >= options.deadline;
    if (outOfTime || (options.maxBatches !== undefined && batches >= options.maxBatches)) {
      await store.importJobs.step(job, owner, { state: job.state, release: true });
      return store.importJobs.get(study, id);
    }
    const moved = await stepOnce(store, job, owner);
    if (!moved) return store.importJobs.get(study, id);
    batches++;
  }
}

/** One step of the job: the next batch checked or written, or the move to the next state. */
async function stepOnce(store: Store, job: ImportJob, owner: string): Promise<boolean> {
  const step = async (s: Parameters<Store["importJobs"]["step"]>[2]) => {
    const moved = await store.importJobs.step(job, owner, s);
    // The rows go once the job has ended: what it wrote is in the audit trail, what it refused in the job.
    if (moved && (s.state === "done" || s.state === "failed"))
      await store.importJobs.deleteChunks(job.study, job.id, job.chunks);
    return moved;
  };
  const definition = await store.definitions.current(job.study);
  if (!definition || definition.version !== job.definitionVersion)
    return step({
      state: "failed",
      release: true,
      error:
        job.state === "writing"
          ? "The study was published anew while the import was written: the batches before it were written. Send the import again."
          : "The study was published anew before the import was written: nothing was written. Send the import again.",
    });
  // No file store: REDCap's rows carry no file (their file columns are skipped), so any reference is refused.
  const options = {
    overwrite: job.options.overwrite,
    dryRun: true,
    forceAutoNumber: false,
    reason: importJobReason(job.id),
  };
  if (job.state === "queued") return step({ state: "checking" });
  if (job.state === "checking") {
    if (job.checkedChunks >= job.chunks) {
      if (job.refusedCount > 0)
        return step({
          state: "failed",
          release: true,
          error: `${job.refusedCount} value(s) were refused; nothing was imported`,
        });
      return step(job.options.dryRun ? { state: "done", release: true } : { state: "writing" });
    }
    const n = job.checkedChunks;
    const { instances } = await store.importJobs.readChunk<ImportedInstance>(job.study, job.id, n);
    const { refused, changes } = await importBatch(store, job, definition, instances, options);
    if (refused.length === 0) await store.importJobs.notePlanned(job.study, job.id, n, changes);
    return step({
      state: "checking",
      checkedChunks: n + 1,
      checked: job.checked + instances.length,
      ...(refused.length > 0
        ? {
            refused: [...job.refused, ...refused].slice(0, REFUSED_KEPT),
            refusedCount: job.refusedCount + refused.length,
          }
        : {}),
    });
  }
  if (job.state !== "writing") return false;
  if (job.writtenChunks >= job.chunks) return step({ state: "done", release: true });
  const n = job.writtenChunks;
  const { instances, planned = 0 } = await store.importJobs.readChunk<ImportedInstance>(job.study, job.id, n);
  const { refused } = await importBatch(store, job, definition, instances, { ...options, dryRun: false });
  if (refused.length > 0)
    // Something changed between the check and the write (a lock, another writer): what was written stays.
    return step({
      state: "failed",
      release: true,
      refused: refused.slice(0, REFUSED_KEPT),
      refusedCount: refused.length,
      error: `Batch ${n + 1} of ${job.chunks} could not be wholly written; the batches before it were`,
    });
  return step({
    state: "writing",
    writtenChunks: n + 1,
    writeDone: job.writeDone + instances.length,
    // The batch's changes are now in place, whether this run or a crashed one before it saved them.
    written: job.written + planned,
  });
}

/** Records of a batch imported at once: each record's instances in order, records side by side. */
const RECORDS_AT_ONCE = 4;

async function importBatch(
  store: Store,
  job: ImportJob,
  definition: StudyDefinition,
  instances: ImportedInstance[],
  options: ImportOptions,
): Promise<{ refused: RefusedValue[]; changes: number }> {
  const byRecord = new Map<string, ImportedInstance[]>();
  for (const instance of instances)
    byRecord.set(instance.record, [...(byRecord.get(instance.record) ?? []), instance]);
  const groups = [...byRecord.values()];
  const refused: RefusedValue[] = [];
  let changes = 0;
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < groups.length && !failed) {
      const group = groups[next++] ?? [];
      const outcome = await importRecords(store, job.principal, definition, group, options).catch((error) => {
        failed = true;
        throw error;
      });
      if (outcome.kind === "refused") refused.push(...outcome.refused);
      else changes += outcome.changes.length;
    }
  };
  // Every worker settles before a failure is thrown: nothing of this batch still runs once the runner stops.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(RECORDS_AT_ONCE, groups.length) }, worker),
  );
  for (const result of settled) if (result.status === "rejected") throw result.reason;
  return { refused, changes };
}

/** The job's progress, 0–100: checking is the first half of a job that writes, writing the second. */
export function percentOf(job: ImportJob): number {
  if (job.state === "done") return 100;
  if (job.total === 0) return 0;
  const work = job.options.dryRun ? job.total : 2 * job.total;
  return Math.floor((100 * (job.checked + job.writeDone)) / work);
}
