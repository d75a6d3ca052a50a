import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import { type CsvReader, csvText } from "../../exports/csv.ts";
import { deidentification, deidentifyChange } from "../../exports/deidentify.ts";
import { type Column, type FlatOptions, flatColumns, flatRows, type Row } from "../../exports/flat.ts";
import { odmChunks } from "../../exports/odm.ts";
import {
  redcapArms,
  redcapEvents,
  redcapExportFieldNames,
  redcapFormEventMapping,
  redcapInstruments,
} from "../../exports/redcap-metadata.ts";
import { openCursor, sealCursor } from "../../exports/sealed-cursor.ts";
import type { AppEnv } from "../../http/context.ts";
import { sitesOf } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { streamedBody } from "../../http/streamed-body.ts";
import type { Subject } from "../../store/subjects.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

export const exportRoutes = createRouter();

const list = z
  .string()
  .optional()
  .transform((s) =>
    s
      ? s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean)
      : undefined,
  );
const flag = z
  .enum(["true", "false"])
  .optional()
  .transform((s) => s === "true");

const includeEnteredInError = flag.openapi({
  description:
    "Also export instances marked as entered in error (left out by default); records gain `<form>_entered_in_error` (1/0), ODM an Annotation",
});

export const RecordsQuery = z.object({
  format: z.enum(["csv", "json", "ndjson"]).default("csv"),
  rawOrLabel: z.enum(["raw", "label"]).default("raw"),
  forms: list,
  fields: list,
  events: list,
  sites: list,
  subjects: list,
  deidentify: flag.openapi({ description: "Leave out identifiers, shift dates per subject" }),
  hashIds: flag.openapi({ description: "With deidentify: replace subject ids by a stable keyed hash" }),
  includeEnteredInError: includeEnteredInError,
  limit: z.coerce.number().int().min(1).max(1000).default(200).openapi({ description: "Subjects per page" }),
  cursor: z.string().optional(),
});

export type RecordsQuery = z.infer<typeof RecordsQuery>;

const CONTENT_TYPE = {
  csv: "text/csv; charset=utf-8",
  json: "application/json",
  ndjson: "application/x-ndjson",
} as const;

/** A page cursor names a real subject id: it is handed out sealed (exports/sealed-cursor.ts), like the feed's. */
async function decodeCursor(
  c: Context<AppEnv>,
  study: string,
  cursor: string | undefined,
): Promise<string | undefined> {
  if (!cursor) return undefined;
  // A cursor given out means the salt exists: looking it up never writes, so a refusal writes nothing.
  const salt = await c.var.store.findExportSalt(study);
  const after = salt ? openCursor(salt, cursor) : undefined;
  if (after === undefined) throw unknownCursor();
  return after;
}

const unknownCursor = () =>
  problems.badRequest("The cursor is not one this API gave out.", [
    { pointer: "/cursor", code: "cursor", message: "unknown cursor" },
  ]);

/** Validates filters against the definition so a typo is an error, not an empty export. */
function checkFilters(definition: StudyDefinition, q: RecordsQuery) {
  const errors = [];
  const known = {
    forms: Object.keys(definition.instruments),
    events: [...definition.study.events.map((e) => e.id), "logs"],
    sites: definition.study.sites.map((s) => s.id),
    fields: Object.values(definition.instruments).flatMap((i) => Object.keys(i.properties)),
  };
  for (const key of ["forms", "events", "sites", "fields"] as const) {
    for (const v of q[key] ?? []) {
      if (!known[key].includes(v))
        errors.push({
          pointer: `/${key}`,
          code: "unknown",
          message: `${v} is not one of the study's ${key}`,
        });
    }
  }
  if (errors.length > 0) throw problems.badRequest("Unknown export filter.", errors);
}

type ExportChoices = Pick<RecordsQuery, "deidentify" | "hashIds"> &
  Partial<
    Pick<RecordsQuery, "rawOrLabel" | "forms" | "fields" | "events" | "subjects" | "includeEnteredInError">
  >;

/** Options shared by every export (API, ODM and REDCap endpoint): filters, labels and de-identification. */
export async function flatExportOptions(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  q: ExportChoices,
): Promise<FlatOptions> {
  const forced = c.var.principal.deidentified === true;
  // Picking subjects by real id would show which key stands for which id.
  if (forced && q.subjects)
    throw problems.badRequest("A de-identified token cannot pick subjects by id.", [
      { pointer: "/subjects", code: "deidentified", message: "not available to a de-identified token" },
    ]);
  const deidentify = q.deidentify || forced;
  return {
    rawOrLabel: q.rawOrLabel,
    forms: q.forms,
    fields: q.fields,
    events: q.events,
    ...(q.includeEnteredInError ? { includeEnteredInError: true } : {}),
    ...(deidentify
      ? {
          deidentify: deidentification(await c.var.store.exportSalt(definition.study.id), {
            shiftDates: true,
            hashIds: q.hashIds || forced,
          }),
        }
      : {}),
  };
}

export function visibleSites(c: Context<AppEnv>, definition: StudyDefinition, wanted?: string[]): string[] {
  const mine = sitesOf(
    c.var.principal,
    definition.study.sites.map((s) => s.id),
  );
  return wanted ? mine.filter((s) => wanted.includes(s)) : mine;
}

/** One subject's rows as text; CSV in one stringify call per subject rather than per row. */
function encodeRows(
  format: "csv" | "json" | "ndjson",
  columns: Column[],
  rows: Row[],
  first: boolean,
  reader: CsvReader,
): string {
  if (format === "csv")
    return csvText(
      rows.map((row) => columns.map((c) => row[c.name] ?? "")),
      reader,
    );
  if (format === "ndjson") return rows.map((row) => `${JSON.stringify(row)}\n`).join("");
  return rows.map((row, i) => `${first && i === 0 ? "" : ","}\n${JSON.stringify(row)}`).join("");
}

/**
 * Streams the rows of a page of subjects; each subject's casebook is read only when its rows are written.
 * CSV is for people (formulas neutralised) unless `reader` says programs (REDCap's `/api/`).
 */
export function streamRecords(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  subjects: Subject[],
  options: FlatOptions,
  format: "csv" | "json" | "ndjson",
  headers: Record<string, string> = {},
  reader: CsvReader = "people",
) {
  const columns = flatColumns(definition, options);
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  c.header("Content-Type", CONTENT_TYPE[format]);
  return streamedBody(c, recordChunks(c, definition, subjects, options, format, columns, reader));
}

async function* recordChunks(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  subjects: Subject[],
  options: FlatOptions,
  format: "csv" | "json" | "ndjson",
  columns: Column[],
  reader: CsvReader,
): AsyncGenerator<string> {
  if (format === "csv") yield csvText([columns.map((col) => col.name)], reader);
  if (format === "json") yield "[";
  let first = true;
  const read = { includeEnteredInError: options.includeEnteredInError };
  for await (const { subject, instances } of c.var.store.casebooks(definition.study.id, subjects, read)) {
    const rows = flatRows(definition, subject, instances, columns, options);
    if (rows.length === 0) continue;
    yield encodeRows(format, columns, rows, first, reader);
    first = false;
  }
  if (format === "json") yield "\n]\n";
}

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/studies/{study}/records",
    tags: ["Exports"],
    summary:
      "Flat records in REDCap's shape (one row per subject × event × repeat instance), streamed a page of subjects at a time; the next page is in the Link header",
    request: { params: StudyParams, query: RecordsQuery },
    responses: {
      200: {
        description: "Rows",
        content: {
          "text/csv": { schema: z.string() },
          "application/json": { schema: z.array(z.record(z.string(), z.unknown())) },
          "application/x-ndjson": { schema: z.string() },
        },
      },
      ...problemResponses([400, 401, 404]),
    },
  }),
  async (c) => {
    const { study } = c.req.valid("param");
    const q = c.req.valid("query");
    const definition = await loadStudy(c, study);
    checkFilters(definition, q);
    // Everything that can refuse comes before anything that can write (the salt, made on first use).
    const after = await decodeCursor(c, study, q.cursor);
    const options = await flatExportOptions(c, definition, q);
    const page = await c.var.store.subjectPage(study, visibleSites(c, definition, q.sites), {
      after,
      limit: q.limit,
      only: q.subjects,
    });
    const headers: Record<string, string> = {};
    if (page.next) {
      const next = sealCursor(await c.var.store.exportSalt(study), page.next);
      const url = new URL(c.req.url);
      url.searchParams.set("cursor", next);
      headers.Link = `<${url.pathname}${url.search}>; rel="next"`;
      headers["X-Next-Cursor"] = next;
    }
    return streamRecords(c, definition, page.subjects, options, q.format, headers) as never;
  },
);

const ChangesQuery = z.object({
  cursor: z
    .string()
    .optional()
    .openapi({ description: "From the previous answer; absent for the first pull" }),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  deidentify: flag,
  hashIds: flag,
});

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/studies/{study}/changes",
    tags: ["Exports"],
    summary:
      "Incremental export: every committed revision after the cursor, in commit order, each exactly once. Store the returned cursor and pass it next time",
    request: { params: StudyParams, query: ChangesQuery },
    responses: {
      200: {
        description: "Changes",
        content: {
          "application/json": {
            schema: z.object({
              changes: z.array(z.record(z.string(), z.unknown())),
              cursor: z.string(),
              more: z.boolean(),
            }),
          },
        },
      },
      ...problemResponses([400, 401, 404]),
    },
  }),
  async (c) => {
    const { study } = c.req.valid("param");
    const q = c.req.valid("query");
    const definition = await loadStudy(c, study);
    // Records and feed cursors are sealed alike: a page cursor is not a feed position.
    const after = await decodeCursor(c, study, q.cursor);
    if (after !== undefined && !/^\d{4}-\d{2}-\d{2}T[\d:.]+Z(#|$)/.test(after)) throw unknownCursor();
    const settledBefore = new Date(Date.now() - c.var.feedSettleMs).toISOString();
    const page = await c.var.store.readFeed(study, { cursor: after, settledBefore, limit: q.limit });
    const sites = new Set(visibleSites(c, definition));
    const options = await flatExportOptions(c, definition, q);
    const changes = page.changes
      .filter((r) => sites.has(r.site))
      .map((r) => {
        const entry = {
          subject: r.subject,
          site: r.site,
          event: r.event,
          form: r.form,
          instance: r.instance,
          rev: r.rev,
          status: r.status,
          statusFrom: r.statusFrom,
          committedAt: r.committedAt,
          committedBy: r.committedBy,
          definitionVersion: r.definitionVersion,
          ...(r.reason ? { reason: r.reason } : {}),
          action: r.action ?? "save",
          enteredInError: r.enteredInError === true,
          changes: r.changes,
          data: r.data,
        };
        return options.deidentify
          ? deidentifyChange(entry, definition.instruments, options.deidentify)
          : entry;
      });
    // The cursor passes changes of other sites too: they were read, just not shown to this caller.
    const cursor = page.cursor === "0" ? "" : sealCursor(await c.var.store.exportSalt(study), page.cursor);
    return c.json({ changes, cursor: cursor || (q.cursor ?? ""), more: page.changes.length >= q.limit }, 200);
  },
);

const MetadataQuery = z.object({ format: z.enum(["json", "csv"]).default("json") });

function table(
  c: Context<AppEnv>,
  rows: Record<string, unknown>[],
  format: "json" | "csv",
  columns?: string[],
) {
  if (format === "json") return c.json(rows, 200);
  const header = columns ?? Object.keys(rows[0] ?? {});
  const csv = csvText([header, ...rows.map((r) => header.map((h) => r[h] ?? ""))], "people");
  return c.body(csv, 200, { "Content-Type": "text/csv; charset=utf-8" });
}

const METADATA = {
  arms: redcapArms,
  events: redcapEvents,
  "form-event-mapping": redcapFormEventMapping,
  instruments: redcapInstruments,
  "export-field-names": redcapExportFieldNames,
} as const;

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/studies/{study}/metadata/{kind}",
    tags: ["Exports"],
    summary:
      "Study metadata in REDCap's shapes: arms, events, form-event-mapping, instruments, export-field-names",
    request: {
      params: StudyParams.extend({ kind: z.enum(Object.keys(METADATA) as [keyof typeof METADATA]) }),
      query: MetadataQuery,
    },
    responses: {
      200: {
        description: "Rows",
        content: { "application/json": { schema: z.array(z.record(z.string(), z.unknown())) } },
      },
      ...problemResponses([400, 401, 404]),
    },
  }),
  async (c) => {
    const { study, kind } = c.req.valid("param");
    const definition = await loadStudy(c, study);
    return table(c, METADATA[kind](definition), c.req.valid("query").format) as never;
  },
);

export const OdmQuery = z.object({
  clinicalData: z
    .enum(["true", "false"])
    .default("true")
    .transform((s) => s === "true"),
  audit: flag.openapi({
    description: "Include the revision history as AuditRecords (FileType Transactional)",
  }),
  deidentify: flag,
  hashIds: flag,
  sites: list,
  subjects: list,
  includeEnteredInError,
});

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/studies/{study}/odm",
    tags: ["Exports"],
    summary:
      "CDISC ODM 1.3.2 XML: metadata and (unless clinicalData=false) clinical data, optionally with audit records; streamed",
    request: { params: StudyParams, query: OdmQuery },
    responses: {
      200: { description: "ODM XML", content: { "application/xml": { schema: z.string() } } },
      ...problemResponses([400, 401, 404]),
    },
  }),
  async (c) => {
    const definition = await loadStudy(c, c.req.valid("param").study);
    return streamOdm(c, definition, c.req.valid("query")) as never;
  },
);

/**
 * The users an audited ODM declares: only the authors of the revisions it
 * exports, never the study's other token holders. AdminData comes before
 * ClinicalData, so they are read in a first pass over the same subjects.
 */
async function auditAuthors(
  c: Context<AppEnv>,
  study: string,
  subjects: Subject[],
  includeEnteredInError: boolean,
): Promise<string[]> {
  const users = new Set<string>();
  const options = { withRevisions: true, includeEnteredInError };
  for await (const { revisions = [] } of c.var.store.casebooks(study, subjects, options))
    for (const r of revisions) users.add(r.committedBy);
  return [...users];
}

/** Streams the ODM file of a study: subjects read one at a time, after the metadata. */
export async function streamOdm(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  q: z.infer<typeof OdmQuery>,
) {
  const study = definition.study.id;
  const flat = await flatExportOptions(c, definition, q);
  const subjects = q.clinicalData
    ? (await c.var.store.listSubjects(study, visibleSites(c, definition, q.sites)))
        .filter((s) => !q.subjects || q.subjects.includes(s.id))
        .sort((a, b) => (a.id < b.id ? -1 : 1))
    : [];
  const users = q.audit ? await auditAuthors(c, study, subjects, q.includeEnteredInError) : [];
  c.header("Content-Type", "application/xml; charset=utf-8");
  const source = q.clinicalData
    ? c.var.store.casebooks(study, subjects, {
        withRevisions: q.audit,
        includeEnteredInError: q.includeEnteredInError,
      })
    : null;
  return streamedBody(
    c,
    odmChunks(definition, source, {
      includeAudit: q.audit,
      users,
      ...(flat.deidentify ? { deidentify: flat.deidentify } : {}),
    }),
  );
}
