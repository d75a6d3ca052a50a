import { DEFAULT_LEASE_MS, runImportJob } from "../http/import-job-runner.ts";
import { deployedMacKey } from "../store/mac-key.ts";
import { createStore, type Store } from "../store/store.ts";

/**
 * The record import worker: the table's stream invokes it with the changes of
 * import job items still to run (the event source's filter: a job queued,
 * checking or writing). It works each job until it nears its timeout, then
 * releases the lease: that write is itself a change of a running job, so the
 * stream invokes the worker again and the job carries on, with no queue and
 * no Lambda invoking another (see docs/architecture.md, "Import jobs").
 */

/** The part of a DynamoDB stream event the worker reads (keys and new image, attribute-typed). */
export interface JobStreamEvent {
  Records: { dynamodb?: { NewImage?: Record<string, { S?: string } | undefined> } }[];
}

export interface WorkerContext {
  getRemainingTimeInMillis(): number;
}

/** The last batch starts at least this long before the timeout: as long as a lease, longer than a batch. */
export const STOP_BEFORE_TIMEOUT_MS = DEFAULT_LEASE_MS;

export function jobsOf(event: JobStreamEvent): { study: string; id: string }[] {
  const jobs = new Map<string, { study: string; id: string }>();
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    const study = image?.study?.S;
    const id = image?.id?.S;
    if (image?.type?.S === "import-job" && study && id) jobs.set(`${study}\u0000${id}`, { study, id });
  }
  return [...jobs.values()];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function workImportJobs(
  store: Store,
  event: JobStreamEvent,
  context: WorkerContext,
): Promise<void> {
  const deadline = Date.now() + context.getRemainingTimeInMillis() - STOP_BEFORE_TIMEOUT_MS;
  for (const { study, id } of jobsOf(event)) {
    for (;;) {
      const job = await runImportJob(store, study, id, { deadline });
      if (!job || job.state === "done" || job.state === "failed" || job.leaseOwner === undefined) break;
      // Another runner's lease: a worker that timed out mid-batch. Wait for it to run out, or fail the
      // invocation so the stream retries later: either way the job is not left without a runner.
      const until = job.leaseUntil ?? 0;
      if (until + 1_000 > deadline)
        throw new Error(`import job ${id} is leased until ${new Date(until).toISOString()}`);
      await sleep(Math.max(0, until - Date.now()) + 1_000);
    }
  }
}

let store: Store | undefined;
export const handler = (event: JobStreamEvent, context: WorkerContext) => {
  store ??= createStore({ macKey: deployedMacKey() });
  return workImportJobs(store, event, context);
};
