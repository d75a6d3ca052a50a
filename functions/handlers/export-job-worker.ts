import { DEFAULT_EXPORT_LEASE_MS, runExportJob } from "../http/export-job-runner.ts";
import { runDueSchedules } from "../http/export-schedules.ts";
import type { ExportTarget } from "../store/export-target.ts";
import { FUNCTION_ENV } from "../store/function-env.ts";
import { deployedMacKey } from "../store/mac-key.ts";
import { s3ExportTarget } from "../store/s3-export-target.ts";
import { s3Client } from "../store/s3-file-objects.ts";
import { createStore, type Store } from "../store/store.ts";
import type { JobStreamEvent, WorkerContext } from "./import-job-worker.ts";
import { SCHEDULE_TICK, type ScheduleTickEvent } from "./schedule-tick.ts";

/**
 * The bulk export worker: the table's stream invokes it with export job items
 * that wait for a runner (the event source's filter: queued or running, and
 * no lease held). A run writes one job's file into the exports bucket; a
 * worker near its timeout starts no run but releases the lease, and a run
 * of a flat file still going then stops at its next checkpoint and releases
 * it: either change invokes the worker again, which carries on. A worker
 * that dies mid-run fails its invocation, so the stream retries, and the
 * retry waits out the dead lease and carries the job on from its checkpoint
 * (or starts it again: ODM, warehouse; docs/architecture.md, "Bulk export jobs").
 * Its own function rather than a second filter on the import worker: it
 * needs the exports bucket, which the import worker must not reach.
 */

/** No run starts closer than this to the timeout. */
export const STOP_BEFORE_TIMEOUT_MS = DEFAULT_EXPORT_LEASE_MS;
/** A running flat file stops at its next checkpoint from this close to the timeout: time to gather and store a part. */
export const CHECKPOINT_BEFORE_TIMEOUT_MS = 2 * DEFAULT_EXPORT_LEASE_MS;

export function exportJobsOf(event: JobStreamEvent): { study: string; id: string }[] {
  const jobs = new Map<string, { study: string; id: string }>();
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    const study = image?.study?.S;
    const id = image?.id?.S;
    if (image?.type?.S === "export-job" && study && id) jobs.set(`${study}\u0000${id}`, { study, id });
  }
  return [...jobs.values()];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function workExportJobs(
  store: Store,
  target: ExportTarget,
  event: JobStreamEvent,
  context: WorkerContext,
): Promise<void> {
  const timeoutAt = Date.now() + context.getRemainingTimeInMillis();
  const deadline = timeoutAt - STOP_BEFORE_TIMEOUT_MS;
  const stopBy = timeoutAt - CHECKPOINT_BEFORE_TIMEOUT_MS;
  for (const { study, id } of exportJobsOf(event)) {
    for (;;) {
      const job = await runExportJob(store, target, study, id, { deadline, stopBy });
      if (!job || job.state === "done" || job.state === "failed" || job.leaseOwner === undefined) break;
      // Another runner's lease: one that died (this is the stream's retry) or one still writing. Wait it
      // out, or fail so the stream retries later: the job is not left without a runner either way.
      const until = job.leaseUntil ?? 0;
      if (until + 1_000 > deadline)
        throw new Error(`export job ${id} is leased until ${new Date(until).toISOString()}`);
      await sleep(Math.max(0, until - Date.now()) + 1_000);
    }
  }
}

/** The jobs a tick starts are items like any other: the stream starts their runs. */
const isTick = (event: JobStreamEvent | ScheduleTickEvent): event is ScheduleTickEvent =>
  (event as ScheduleTickEvent).exportSchedules === SCHEDULE_TICK.exportSchedules;

let store: Store | undefined;
let target: ExportTarget | undefined;
export const handler = async (event: JobStreamEvent | ScheduleTickEvent, context: WorkerContext) => {
  store ??= createStore({ macKey: deployedMacKey() });
  if (isTick(event)) {
    const report = await runDueSchedules(store, new Date());
    console.log(JSON.stringify({ level: "info", scheduleTick: report }));
    return;
  }
  const bucket = process.env[FUNCTION_ENV.exportsBucket];
  if (!bucket) throw new Error(`${FUNCTION_ENV.exportsBucket} is not set`);
  target ??= s3ExportTarget(s3Client(), bucket);
  return workExportJobs(store, target, event, context);
};
