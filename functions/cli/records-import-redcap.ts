/**
 * `npm run records:import-redcap -- <data.csv|data.json> --token <key> [--url http://localhost:3000]
 * [--overwrite] [--dry-run] [--date-format YMD|MDY|DMY] [--force-auto-number]`:
 * imports REDCap flat records into the study of the key, through a running
 * server's REDCap endpoint (`POST /api/`, content=record), so the import is
 * exactly the API's: all or nothing, every row through the save path. Prints
 * the answer; a refusal lists every refused value and exits 1.
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
  },
});

const file = positionals[0];
if (!file || !values.token) {
  console.error("usage: records:import-redcap -- <data.csv|data.json> --token <key> [--url …] [--dry-run]");
  process.exit(2);
}
const data = await readFile(file, "utf8");
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
