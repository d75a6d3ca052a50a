/**
 * `npm run forms:export-redcap -- [forms dir] [--record-id name (default: study.json recordIdField)] [--record-id-label text] [--no-engine-tags]`:
 * writes the study's instruments as a REDCap data dictionary CSV on stdout,
 * forms in the order the study collects them. What REDCap has no column for is
 * listed on stderr (and, unless --no-engine-tags, carried in @X- annotation tags
 * so that importing the file gives the same instruments back).
 */

import { parseArgs } from "node:util";
import { loadDefinition } from "../definition-files.ts";
import { formOrder } from "../engine/form-order.ts";
import { buildDictionary, writeRows } from "../engine/redcap/dictionary.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    // Default: the study's recordIdField (study.json), else record_id.
    "record-id": { type: "string" },
    "record-id-label": { type: "string", default: "Record ID" },
    "no-engine-tags": { type: "boolean", default: false },
  },
});

const dir = positionals[0] ?? "forms";
let definition: Awaited<ReturnType<typeof loadDefinition>>;
try {
  definition = await loadDefinition(dir);
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}

const { instruments } = definition;
const { rows, report } = buildDictionary(instruments, {
  recordIdField: values["record-id"] ?? definition.study.recordIdField ?? "record_id",
  recordIdLabel: values["record-id-label"],
  formOrder: formOrder(definition),
  engineTags: !values["no-engine-tags"],
});

for (const i of report) {
  const where = [i.form, i.field].filter((s) => s !== "").join(".");
  console.error(`${i.severity}: ${where}${i.column ? ` [${i.column}]` : ""}: ${i.message}`);
}
process.stdout.write(writeRows(rows));
console.error(
  `${dir}: ${rows.length - 1} field(s) in ${Object.keys(instruments).length} instrument(s) exported`,
);
