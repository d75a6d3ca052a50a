import type { StudyDefinition } from "../engine/definition.ts";
import type { SubjectStatus } from "../engine/review.ts";
import { statusesBySubject } from "../engine/subject-status.ts";
import type { Store } from "../store/store.ts";
import type { Subject } from "../store/subjects.ts";
import { type CsvReader, csvText } from "./csv.ts";
import { type Column, type FlatOptions, flatColumns, flatRows, type Row } from "./flat.ts";
import { sealCursor } from "./sealed-cursor.ts";

/**
 * The flat records export as text chunks: a header (CSV) or an opening
 * bracket (JSON), then one subject's rows at a time, each casebook read only
 * when its rows are written. Knows nothing of HTTP: the caller pipes the
 * chunks into whatever body it writes.
 */

export type RecordsFormat = "csv" | "json" | "ndjson";

export const RECORDS_CONTENT_TYPE: Record<RecordsFormat, string> = {
  csv: "text/csv; charset=utf-8",
  json: "application/json",
  ndjson: "application/x-ndjson",
};

/** One subject's rows as text; CSV in one stringify call per subject rather than per row. */
function encodeRows(
  format: RecordsFormat,
  columns: Column[],
  rows: Row[],
  first: boolean,
  reader: CsvReader,
) {
  if (format === "csv")
    return csvText(
      rows.map((row) => columns.map((c) => row[c.name] ?? "")),
      reader,
    );
  if (format === "ndjson") return rows.map((row) => `${JSON.stringify(row)}\n`).join("");
  return rows.map((row, i) => `${first && i === 0 ? "" : ","}\n${JSON.stringify(row)}`).join("");
}

/**
 * The rows of the given subjects, in their order. CSV is for people (formulas
 * neutralised) unless `reader` says programs (REDCap's `/api/`).
 */
export async function* recordChunks(
  store: Pick<Store, "casebooks">,
  definition: StudyDefinition,
  subjects: Subject[],
  options: FlatOptions,
  format: RecordsFormat,
  reader: CsvReader = "people",
  /** Told each subject's row count as it is written (bulk export jobs count rows). */
  counted?: (rows: number) => void,
  /** A bulk export job carrying on a file: no header, and whether rows came before (JSON's commas). */
  continuing?: { rowsBefore: number },
): AsyncGenerator<string> {
  const columns = flatColumns(definition, options);
  if (format === "csv" && !continuing) yield csvText([columns.map((col) => col.name)], reader);
  if (format === "json" && !continuing) yield "[";
  let first = !continuing?.rowsBefore;
  const read = { includeEnteredInError: options.includeEnteredInError, sinceWatermark: true };
  for await (const { subject, instances } of store.casebooks(definition.study.id, subjects, read)) {
    const rows = flatRows(definition, subject, instances, columns, options);
    if (rows.length === 0) continue;
    counted?.(rows.length);
    yield encodeRows(format, columns, rows, first, reader);
    first = false;
  }
  if (format === "json") yield "\n]\n";
}

/** Each subject's recorded status, one Query per site of these subjects (the `subject_status` column). */
export async function subjectStatuses(
  store: Pick<Store, "readSiteStatusEntries">,
  study: string,
  subjects: Subject[],
): Promise<Map<string, SubjectStatus>> {
  const sites = [...new Set(subjects.map((s) => s.site))];
  const entries = await Promise.all(sites.map((site) => store.readSiteStatusEntries(study, site)));
  return statusesBySubject(entries.flat());
}

/** The subjects of these sites in id order: a whole-study download rather than a page. */
export async function subjectsById(
  store: Pick<Store, "listSubjects">,
  study: string,
  sites: string[],
): Promise<Subject[]> {
  return (await store.listSubjects(study, sites)).sort((a, b) => (a.id < b.id ? -1 : 1));
}

export interface RecordsPageRequest {
  sites: string[];
  /** The last subject id of the previous page (an opened cursor). */
  after?: string;
  limit: number;
  /** Only these subject ids. */
  only?: string[];
  format: RecordsFormat;
}

/**
 * One page of subjects' rows, how many subjects it holds, and the sealed
 * cursor of the next page, if any.
 * The export salt may be made here (first export of the study), so the caller
 * refuses whatever it refuses before calling.
 */
export async function recordsPage(
  store: Pick<Store, "subjectPage" | "casebooks" | "exportSalt" | "readSiteStatusEntries">,
  definition: StudyDefinition,
  request: RecordsPageRequest,
  options: FlatOptions,
): Promise<{ chunks: AsyncGenerator<string>; subjects: number; next?: string }> {
  const study = definition.study.id;
  const page = await store.subjectPage(study, request.sites, {
    after: request.after,
    limit: request.limit,
    only: request.only,
  });
  const next = page.next ? sealCursor(await store.exportSalt(study), page.next) : undefined;
  const statuses = await subjectStatuses(store, study, page.subjects);
  return {
    chunks: recordChunks(
      store,
      definition,
      page.subjects,
      { ...options, subjectStatuses: statuses },
      request.format,
    ),
    subjects: page.subjects.length,
    ...(next ? { next } : {}),
  };
}
