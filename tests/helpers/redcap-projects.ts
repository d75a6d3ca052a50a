import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type { Row } from "../../functions/engine/redcap/columns.ts";
import { importProject, type ProjectImport } from "../../functions/engine/redcap/import-project.ts";
import { type FolderFile, readProjectFolder } from "../../functions/engine/redcap/project-folder.ts";
import { readProjectXml } from "../../functions/engine/redcap/project-xml.ts";
import { parseFlatCsv } from "./redcap-compare.ts";

/**
 * The real REDCap projects of tests/fixtures/redcap-projects, each imported
 * as a study, and what to do with the values our `/api/` refuses so the rest
 * of a project can still be measured.
 */

export const PROJECTS_DIR = "tests/fixtures/redcap-projects";

export interface ProjectFiles {
  name: string;
  dir: string;
  data: string;
  dictionary?: string;
  projectXml?: string;
  /** Every CSV file of the folder, data.csv included. */
  files: FolderFile[];
}

export function projectFixtures(): ProjectFiles[] {
  return readdirSync(PROJECTS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(PROJECTS_DIR, d.name, "data.csv")))
    .map((d) => {
      const dir = path.join(PROJECTS_DIR, d.name);
      const read = (f: string) =>
        existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), "utf8") : undefined;
      return {
        name: d.name,
        dir,
        data: read("data.csv") ?? "",
        ...(read("dictionary.csv") !== undefined ? { dictionary: read("dictionary.csv") } : {}),
        ...(read("project.xml") !== undefined ? { projectXml: read("project.xml") } : {}),
        files: readdirSync(dir)
          .filter((f) => f.endsWith(".csv"))
          .map((f) => ({ name: f, text: read(f) ?? "" })),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The project as a study, through the project importer (`studies:import-redcap`):
 * from its project.xml, or from its folder of CSV exports when it has none.
 */
export function importedStudy(project: ProjectFiles, id: string): ProjectImport & { dictionary: Row[] } {
  const pieces = project.projectXml
    ? readProjectXml(project.projectXml)
    : readProjectFolder(project.files.filter((f) => f.name !== "data.csv"));
  return { ...importProject(pieces, { id }), dictionary: pieces.dictionary };
}

/** A value our `/api/` refused, as its error lists them ("record","event","field","value","message"). */
export interface Refused {
  record: string;
  event: string;
  field: string;
  value: string;
  message: string;
}

export function refusedValues(error: string): Refused[] {
  const lines = error.split("\n").slice(1).join("\n");
  if (!lines.trim()) return [];
  return (parse(lines, { relax_quotes: true }) as string[][]).map(
    ([record = "", event = "", field = "", value = "", message = ""]) => ({
      record,
      event,
      field,
      value,
      message,
    }),
  );
}

/**
 * The data with every refused value taken out, so the rest can be imported
 * and compared: a refused cell is blanked; a refused row (its event or
 * repeat) is dropped; a refused column is dropped.
 */
export function withoutRefused(dataCsv: string, refused: Refused[]): string {
  const { columns, rows } = parseFlatCsv(dataCsv);
  const idColumn = columns[0] ?? "";
  const dropColumns = new Set(refused.filter((r) => r.record === "").map((r) => r.field));
  const rowLevel = new Set(["redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]);
  const kept = rows.filter(
    (row) =>
      !refused.some(
        (r) =>
          r.record === row[idColumn] &&
          r.event === (row.redcap_event_name ?? "") &&
          rowLevel.has(r.field) &&
          (row[r.field] ?? "") === r.value,
      ),
  );
  for (const row of kept)
    for (const r of refused)
      if (
        r.record === row[idColumn] &&
        r.event === (row.redcap_event_name ?? "") &&
        !rowLevel.has(r.field) &&
        row[r.field] === r.value
      )
        row[r.field] = "";
  const out = columns.filter((c) => !dropColumns.has(c));
  const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  return [out.join(","), ...kept.map((row) => out.map((c) => quote(row[c] ?? "")).join(","))].join("\n");
}
