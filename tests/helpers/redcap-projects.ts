import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type { EventDef, Instrument, StudyFile } from "../../functions/engine/definition.ts";
import { importDictionary } from "../../functions/engine/redcap/dictionary.ts";
import { parseFlatCsv } from "./redcap-compare.ts";

/**
 * The real REDCap projects of tests/fixtures/redcap-projects, and a study
 * made from a project's data dictionary and the shape of its `data.csv`
 * (arms and events from the unique event names, repeating instruments from
 * the repeat columns). This stands in for the project.xml importer where a
 * project has a dictionary; it invents no field.
 */

export const PROJECTS_DIR = "tests/fixtures/redcap-projects";

export interface ProjectFiles {
  name: string;
  dir: string;
  data: string;
  dictionary?: string;
  projectXml?: string;
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
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

const ARM_SUFFIX = /^(.*)_arm_(\d+)$/;

/** A study from a dictionary and the rows REDCap exported: events, arms, logs and sites as the data shows them. */
export function synthesiseStudy(
  id: string,
  dictionaryCsv: string,
  dataCsv: string,
): { study: StudyFile; instruments: Record<string, Instrument>; untranslated: number } {
  const imported = importDictionary(dictionaryCsv);
  const forms = imported.formOrder.filter((f) => imported.instruments[f]);
  const { columns, rows } = parseFlatCsv(dataCsv);
  const longitudinal = columns.includes("redcap_event_name");
  const repeating = new Map<string, Set<string>>();
  const armNumbers = new Set<number>();
  const eventArms = new Map<string, Set<number>>();
  for (const row of rows) {
    const match = ARM_SUFFIX.exec(row.redcap_event_name ?? "");
    const event = longitudinal && match ? (match[1] ?? "") : "event_1";
    const arm = match ? Number(match[2]) : 1;
    armNumbers.add(arm);
    eventArms.set(event, (eventArms.get(event) ?? new Set()).add(arm));
    const form = row.redcap_repeat_instrument ?? "";
    if (form) repeating.set(event, (repeating.get(event) ?? new Set()).add(form));
  }
  const arms = [...armNumbers]
    .sort((a, b) => a - b)
    .map((n) => ({ id: `arm_${n}`, label: `Arm ${n}`, number: n }));
  const logs = longitudinal ? [] : [...(repeating.get("event_1") ?? [])];
  const events: EventDef[] = [...eventArms].map(([event, seenIn]) => {
    const repeats = longitudinal ? [...(repeating.get(event) ?? [])] : [];
    return {
      id: event,
      label: event.replaceAll("_", " "),
      forms: forms.filter((f) => !logs.includes(f)),
      ...(seenIn.size < arms.length ? { arms: [...seenIn].map((n) => `arm_${n}`) } : {}),
      ...(repeats.length > 0 ? { repeatingForms: repeats } : {}),
    };
  });
  const groups = [...new Set(rows.map((r) => r.redcap_data_access_group ?? "").filter((g) => g !== ""))];
  const sites = (groups.length > 0 ? groups : ["site"]).map((g, i) => ({
    id: g,
    name: g,
    code: String(i + 1).padStart(2, "0"),
  }));
  const study: StudyFile = {
    id,
    title: id,
    arms,
    sites,
    subjectIdPattern: "^.+$",
    events,
    logs,
    ...(imported.recordIdField ? { recordIdField: imported.recordIdField } : {}),
  };
  const untranslated = imported.report.filter((i) => i.severity === "error").length;
  return { study, instruments: imported.instruments, untranslated };
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
