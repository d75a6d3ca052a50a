/**
 * `npm run records:import-redcap -- <data.csv|data.json> --token <key> [--url http://localhost:3000]
 * [--overwrite] [--dry-run] [--date-format YMD|MDY|DMY] [--force-auto-number] [--job --study <id>]`:
 * imports REDCap flat records into the study of the key, through a running
 * server's REDCap endpoint (`POST /api/`, content=record), so the import is
 * exactly the API's: all or nothing, every row through the save path. Prints
 * the answer; a refusal lists every refused value and exits 1. With `--job`
 * (large imports) the rows go to the study's record import jobs instead and
 * the job's progress is printed until it is done or failed.
 */

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    token: { type: "string" },
    url: { type: "string", default: "http://localhost:3000" },
    overwrite: { type: "boolean", default: false },
    "dry-run": { type: "boolean", default: false },
    "date-format": { type: "string", default: "YMD" },
    "force-auto-number": { type: "boolean", default: false },
    job: { type: "boolean", default: false },
    study: { type: "string" },
  },
});

const file = positionals[0];
if (!file || !values.token) {
  console.error("usage: records:import-redcap -- <data.csv|data.json> --token <key> [--url …] [--dry-run]");
  process.exit(2);
}
const data = await readFile(file, "utf8");
if (values.job) process.exit(await importAsJob(data));
const body = new URLSearchParams({
  token: values.token,
  content: "record",
  action: "import",
  format: file.endsWith(".json") ? "json" : "csv",
  type: "flat",
  data,
  overwriteBehavior: values.overwrite ? "overwrite" : "normal",
  forceAutoNumber: String(values["force-auto-number"]),
  dateFormat: values["date-format"] ?? "YMD",
  returnContent: values["force-auto-number"] ? "auto_ids" : "ids",
  returnFormat: "json",
  dryRun: String(values["dry-run"]),
});
const res = await fetch(new URL("/api/", values.url), {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body,
});
const text = await res.text();
let shown = text;
try {
  const parsed = JSON.parse(text);
  shown = typeof parsed?.error === "string" ? parsed.error : JSON.stringify(parsed, null, 2);
} catch {}
(res.ok ? console.log : console.error)(shown);
process.exit(res.ok ? 0 : 1);

/** POST the rows as a job, then poll it; the exit code. */
async function importAsJob(text: string): Promise<number> {
  if (!values.study) {
    console.error("--job needs --study <id>");
    return 2;
  }
  const headers = { authorization: `Bearer ${values.token}`, "content-type": "application/json" };
  const base = new URL(`/api/v1/studies/${encodeURIComponent(values.study)}/record-imports`, values.url);
  const started = await fetch(base, {
    method: "POST",
    headers,
    body: JSON.stringify({
      format: file?.endsWith(".json") ? "json" : "csv",
      data: text,
      overwriteBehavior: values.overwrite ? "overwrite" : "normal",
      dateFormat: values["date-format"] ?? "YMD",
      dryRun: values["dry-run"],
    }),
  });
  const answer = (await started.json()) as { status?: string };
  if (started.status !== 202 || !answer.status) {
    console.error(JSON.stringify(answer, null, 2));
    return 1;
  }
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const job = (await (await fetch(new URL(answer.status, values.url), { headers })).json()) as {
      state: string;
      percent: number;
      total: number;
      written: number;
      refused: unknown[];
      refusedCount: number;
      error?: string;
    };
    console.log(`${job.state} ${job.percent}% (${job.total} instances, ${job.written} written)`);
    if (job.state === "done") return 0;
    if (job.state === "failed") {
      console.error(job.error ?? "failed", JSON.stringify(job.refused, null, 2));
      return 1;
    }
  }
}
