import { parse } from "csv-parse/sync";
import { API_COLUMNS, COLUMNS, readRows } from "./columns.ts";
import { emptyPieces, type ProjectPieces, readMissingCodes } from "./project-pieces.ts";

/**
 * A folder of REDCap's CSV exports → the pieces of a project. Each file is
 * recognised by its header, whatever its name: the data dictionary (REDCap's
 * or its API's column names), arms (`arm_num,name`), events
 * (`event_name,arm_num,unique_event_name,…`), the instrument–event mapping
 * (`arm_num,unique_event_name,form`), repeating instruments and events
 * (`event_name,form_name,custom_form_label`), instruments
 * (`instrument_name,instrument_label`), data access groups
 * (`data_access_group_name,unique_group_name`), project information
 * (`project_title,…`) and the records (their first column is the record id).
 * Pure: the caller reads the files.
 */

export interface FolderFile {
  name: string;
  text: string;
}

type Table = { header: string[]; rows: Record<string, string>[] };

function table(text: string): Table {
  const records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  const header = (records.shift() ?? []).map((h) => h.trim());
  return {
    header,
    rows: records.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""]))),
  };
}

const has = (t: Table, ...names: string[]) => names.every((n) => t.header.includes(n));

type Kind = "dictionary" | "arms" | "events" | "mapping" | "repeating" | "instruments" | "dags" | "project";

function kindOf(t: Table): Kind | undefined {
  const first = t.header[0];
  if (first === COLUMNS[0] || first === API_COLUMNS[0]) return "dictionary";
  if (has(t, "arm_num", "unique_event_name", "form")) return "mapping";
  if (has(t, "event_name", "arm_num", "unique_event_name")) return "events";
  if (has(t, "arm_num", "name")) return "arms";
  if (has(t, "form_name", "custom_form_label")) return "repeating";
  if (has(t, "instrument_name", "instrument_label")) return "instruments";
  if (has(t, "data_access_group_name", "unique_group_name")) return "dags";
  if (has(t, "project_title")) return "project";
  return undefined;
}

export function readProjectFolder(files: FolderFile[]): ProjectPieces {
  const pieces = emptyPieces();
  const report = pieces.report;
  const tables: { file: string; kind: Kind | undefined; table: Table; text: string }[] = [];
  for (const f of files) {
    try {
      const t = table(f.text);
      tables.push({ file: f.name, kind: kindOf(t), table: t, text: f.text });
    } catch (e) {
      report.push({
        item: `file ${f.name}`,
        severity: "warning",
        message: `not read: ${(e as Error).message}`,
      });
    }
  }
  const one = (kind: Kind) => {
    const found = tables.filter((t) => t.kind === kind);
    if (found.length > 1)
      report.push({
        item: `file ${found[1]?.file}`,
        severity: "error",
        message: `a second ${kind} file (${found.map((t) => t.file).join(", ")}): only the first is read`,
      });
    return found[0];
  };

  const dictionary = one("dictionary");
  if (!dictionary) {
    report.push({
      item: "dictionary",
      severity: "error",
      message: 'no data dictionary (a CSV whose first column is "Variable / Field Name")',
    });
    return pieces;
  }
  pieces.dictionary = readRows(dictionary.text).rows;
  pieces.recordIdField = pieces.dictionary[0]?.["Variable / Field Name"].trim() ?? "";

  const project = one("project")?.table.rows[0];
  if (project) {
    pieces.title = (project.project_title ?? "").trim();
    pieces.missingCodes = readMissingCodes(project.missing_data_codes ?? "");
  }
  for (const r of one("instruments")?.table.rows ?? [])
    pieces.formLabels[r.instrument_name ?? ""] = r.instrument_label ?? "";
  for (const r of one("arms")?.table.rows ?? [])
    pieces.arms.push({ number: Number(r.arm_num), name: r.name ?? "" });
  for (const r of one("events")?.table.rows ?? []) {
    const offset = (name: string) => {
      const v = (r[name] ?? "").trim();
      return v === "" || Number.isNaN(Number(v)) ? undefined : Number(v);
    };
    const day = offset("day_offset");
    const min = offset("offset_min");
    const max = offset("offset_max");
    pieces.events.push({
      uniqueName: r.unique_event_name ?? "",
      name: r.event_name ?? "",
      arm: Number(r.arm_num),
      ...(day !== undefined ? { dayOffset: day } : {}),
      ...(min !== undefined ? { offsetMin: min } : {}),
      ...(max !== undefined ? { offsetMax: max } : {}),
      ...(r.custom_event_label?.trim() ? { customLabel: r.custom_event_label.trim() } : {}),
    });
  }
  pieces.longitudinal = pieces.events.length > 0;
  if (pieces.longitudinal && pieces.arms.length === 0) {
    const numbers = [...new Set(pieces.events.map((e) => e.arm))].sort((a, b) => a - b);
    pieces.arms = numbers.map((number) => ({ number, name: `Arm ${number}` }));
    report.push({
      item: "arms",
      severity: "warning",
      message: "no arms file (arm_num,name): arms are named by number",
    });
  }
  const mapping = one("mapping");
  for (const r of mapping?.table.rows ?? [])
    pieces.mapping.push({ arm: Number(r.arm_num), event: r.unique_event_name ?? "", form: r.form ?? "" });
  if (pieces.longitudinal && !mapping)
    report.push({
      item: "instrument-event mapping",
      severity: "error",
      message: "no instrument–event mapping file (arm_num,unique_event_name,form): no event has forms",
    });
  for (const r of one("repeating")?.table.rows ?? [])
    pieces.repeating.push({
      event: r.event_name ?? "",
      form: r.form_name ?? "",
      label: r.custom_form_label ?? "",
    });
  for (const r of one("dags")?.table.rows ?? [])
    pieces.dags.push({ name: r.data_access_group_name ?? "", uniqueName: r.unique_group_name ?? "" });

  const data = tables.find((t) => t.kind === undefined && t.table.header[0] === pieces.recordIdField);
  if (data) pieces.records = { columns: data.table.header, rows: data.table.rows };
  for (const t of tables) {
    if (t.kind === undefined && t !== data)
      report.push({
        item: `file ${t.file}`,
        severity: "warning",
        message: `not recognised by its header (${t.table.header.slice(0, 4).join(",")}…): ignored`,
      });
  }
  return pieces;
}
