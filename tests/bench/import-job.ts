/**
 * `npm run bench:import-job [-- <instances>]`: imports 10,000 form instances
 * (1,000 new records × 10 adverse events, REDCap flat JSON) as one record
 * import job on an in-memory dynalite, through the real app and runner, and
 * prints the time to store the rows (the 202), the time to check and write
 * them, instances per second, and the process's peak memory. Not part of
 * `npm test`.
 */
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { runImportJob } from "../../functions/http/import-job-runner.ts";

const total = Number(process.argv[2] ?? 10_000);
const perRecord = 10;
const env = await startDevEnvironment({ importJobs: { start: () => {} } });
const study = env.studyId;
const token = env.tokens["site-01"]?.token;

const rows: Record<string, string>[] = [];
for (let n = 0; n < total; n++) {
  const record = Math.floor(n / perRecord) + 1;
  rows.push({
    record_id: `01-${String(record).padStart(5, "0")}`,
    redcap_event_name: "logs_arm_1",
    redcap_repeat_instrument: "adverse_event",
    redcap_repeat_instance: String((n % perRecord) + 1),
    ae_term: `Adverse event ${n}`,
  });
}
const body = JSON.stringify({ data: rows });

let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const { rss, heapUsed } = process.memoryUsage();
  peakRss = Math.max(peakRss, rss);
  peakHeap = Math.max(peakHeap, heapUsed);
};
const sampler = setInterval(sample, 100);

const t0 = performance.now();
const res = await env.app.request(`/api/v1/studies/${study}/record-imports`, {
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  body,
});
const started = (await res.json()) as { id: string };
if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${JSON.stringify(started)}`);
const t1 = performance.now();

// The runner in a loop of short runs, as the worker's invocations would be, printing the progress.
let job = await env.store.importJobs.get(study, started.id);
while (job && job.state !== "done" && job.state !== "failed") {
  job = await runImportJob(env.store, study, started.id, { maxBatches: 10 });
  const processed = (job?.checked ?? 0) + (job?.writeDone ?? 0);
  console.log(
    `  ${((performance.now() - t1) / 1000).toFixed(0).padStart(5)} s  ${job?.state}  ${processed}/${2 * total}`,
  );
}
const t2 = performance.now();
clearInterval(sampler);
sample();

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const seconds = (t2 - t1) / 1000;
console.log(
  [
    `import job of ${total} form instances (${total / perRecord} new records): ${job?.state}, ${job?.written} written`,
    `  store the rows (POST, 202): ${((t1 - t0) / 1000).toFixed(1)} s, body ${mb(Buffer.byteLength(body))}`,
    `  check and write:            ${seconds.toFixed(1)} s, ${(total / seconds).toFixed(0)} instances/s`,
    `  peak memory:                rss ${mb(peakRss)}, heap ${mb(peakHeap)}`,
  ].join("\n"),
);
await env.close();
