/**
 * `npm run studies:import-redcap -- <project.xml | folder> [--id <slug>] [--out studies/<id>] [--records] [--allow-partial]`
 * turns a REDCap project (its project XML, or a folder of its CSV exports)
 * into a study folder: study.json, instruments/<form>.json and, with
 * --records, records.csv (REDCap flat CSV, named for the study, for the
 * `/api/` record import). Prints everything not carried over as it stands,
 * by item. Exits 1, writing nothing, on any error unless --allow-partial.
 * `npm start` then serves the folder (studies/<id>/).
 */

import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "csv-stringify/sync";
import { importProject } from "../engine/redcap/import-project.ts";
import { readProjectFolder } from "../engine/redcap/project-folder.ts";
import type { ProjectIssue } from "../engine/redcap/project-pieces.ts";
import { readProjectXml } from "../engine/redcap/project-xml.ts";

const USAGE =
  "usage: npm run studies:import-redcap -- <project.xml | folder> [--id <slug>] [--out studies/<id>] [--records] [--allow-partial]";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    id: { type: "string" },
    out: { type: "string" },
    records: { type: "boolean", default: false },
    "allow-partial": { type: "boolean", default: false },
  },
});

const source = positionals[0];
if (source === undefined || positionals.length > 1) {
  console.error(USAGE);
  process.exit(2);
}

const found = await stat(source).catch(() => undefined);
if (!found) {
  console.error(`studies:import-redcap: no file or folder ${source}`);
  process.exit(2);
}
const pieces = found.isDirectory()
  ? readProjectFolder(
      await Promise.all(
        (await readdir(source))
          .filter((name) => name.toLowerCase().endsWith(".csv"))
          .sort()
          .map(async (name) => ({ name, text: await readFile(path.join(source, name), "utf8") })),
      ),
    )
  : readProjectXml(await readFile(source, "utf8"));

const id = values.id ?? (pieces.title === "" ? path.basename(path.resolve(source), ".xml") : undefined);
const result = importProject(pieces, id !== undefined ? { id } : {});
const out = values.out ?? path.join("studies", result.study.id);

function format(i: ProjectIssue): string {
  return `${i.severity}: ${i.item}: ${i.message}`;
}
for (const issue of [...result.report].sort((a, b) => a.item.localeCompare(b.item)))
  console.error(format(issue));
const errors = result.report.filter((i) => i.severity === "error").length;
const arms = result.study.arms.length;
console.error(
  `${source}: study "${result.study.id}", ${Object.keys(result.instruments).length} instrument(s), ${result.study.events.length} event(s) in ${arms} arm(s), ${result.study.logs.length} log(s), ${result.study.sites.length} site(s); ${errors} error(s), ${result.report.length - errors} warning(s)`,
);
if (errors > 0 && !values["allow-partial"]) {
  console.error("nothing written: fix the project, or pass --allow-partial to write what was carried over");
  process.exit(1);
}

await mkdir(path.join(out, "instruments"), { recursive: true });
const written: string[] = [];
const write = async (file: string, text: string) => {
  await writeFile(path.join(out, file), text);
  written.push(path.join(out, file));
};
await write("study.json", `${JSON.stringify(result.study, null, 2)}\n`);
for (const [form, instrument] of Object.entries(result.instruments))
  await write(path.join("instruments", `${form}.json`), `${JSON.stringify(instrument, null, 2)}\n`);
if (values.records) {
  if (result.records && result.records.rows.length > 0)
    await write(
      "records.csv",
      stringify(
        result.records.rows.map((r) => result.records?.columns.map((c) => r[c] ?? "")),
        { header: true, columns: result.records.columns, record_delimiter: "unix" },
      ),
    );
  else console.error("--records: the project holds no records");
}
for (const file of written) console.log(file);
console.error(
  `Serve it with npm start (studies/<id>/ is loaded), publish it, then import records.csv with npm run records:import-redcap.`,
);
