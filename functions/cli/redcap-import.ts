/**
 * `npm run forms:import-redcap -- <dictionary.csv> [--out dir] [--allow-partial]`:
 * reads a REDCap data dictionary and writes `<dir>/instruments/<form>.json`
 * (default dir: forms). Prints everything that was not translated as it stands,
 * by form, field and column. Exits 1, writing nothing, if anything could not be
 * translated (severity error) unless --allow-partial.
 */

import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { type Issue, importDictionary } from "../engine/redcap/dictionary.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: "string", default: "forms" },
    "allow-partial": { type: "boolean", default: false },
  },
});

const source = positionals[0];
if (source === undefined) {
  console.error("usage: npm run forms:import-redcap -- <dictionary.csv> [--out dir] [--allow-partial]");
  process.exit(2);
}

const result = importDictionary(await readFile(source, "utf8"));

function format(i: Issue): string {
  const where = [i.form, i.field].filter((s) => s !== "").join(".") || "(file)";
  return `${i.severity}: ${where}${i.column ? ` [${i.column}]` : ""}: ${i.message}`;
}

for (const issue of result.report) console.error(format(issue));
const errors = result.report.filter((i) => i.severity === "error").length;
const warnings = result.report.length - errors;
const ids = Object.keys(result.instruments);
console.error(
  `${source}: ${ids.length} instrument(s), ${errors} not translated, ${warnings} warning(s)` +
    (result.recordId
      ? `; record id "${result.recordId.field}" (${result.recordId.label}, form ${result.recordId.form}) is the subject id`
      : ""),
);

if (errors > 0 && !values["allow-partial"]) {
  console.error("nothing written: fix the dictionary, or pass --allow-partial to write what was translated");
  process.exit(1);
}

const dir = path.join(values.out, "instruments");
await mkdir(dir, { recursive: true });
for (const id of ids) {
  const file = path.join(dir, `${id}.json`);
  await writeFile(file, `${JSON.stringify(result.instruments[id], null, 2)}\n`);
  console.log(file);
}
console.error(
  `forms order: ${result.formOrder.join(", ")}. Add the instruments to ${path.join(values.out, "study.json")} (events, logs), then run npm run format and npm run forms:check.`,
);
