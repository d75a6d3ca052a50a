import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { REDCAP_METADATA } from "../../exports/redcap-metadata.ts";
import { logAccess, loggedFilters } from "../../http/access-events.ts";
import type { AppEnv } from "../../http/context.ts";
import {
  checkExportFilters,
  commaList,
  exportOptions,
  exportSites,
  openExportCursor,
  openFeedCursor,
} from "../../http/export-scope.ts";
import { permitted } from "../../http/permissions.ts";
import { projectionPassBeforeExport } from "../../http/projection-pass.ts";
import { loadStudy } from "../../http/resolve.ts";
import { streamedBody } from "../../http/streamed-body.ts";
import { FeedChange } from "../feed-schemas.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

/**
 * The export routes parse, authorize and pipe: what a caller may see is http/export-scope.ts, the writing exports/.
 * The writers are imported by the first export, not at a cold start (docs/architecture.md, "Cold start").
 */
export const exportRoutes = createRouter();

const list = z.string().optional().transform(commaList);
const flag = z
  .enum(["true", "false"])
  .optional()
  .transform((s) => s === "true");

const includeEnteredInError = flag.openapi({
  description:
    "Also export instances marked as entered in error (left out by default); records gain `<form>_entered_in_error` (1/0), ODM an Annotation",
});

const RecordsQuery = z.object({
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

const exportRecordsRoute = createRoute({
  method: "get",
  path: "/studies/{study}/records",
  operationId: "exportRecords",
  middleware: [permitted("export")],
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
});

const exportRecords: RouteHandler<typeof exportRecordsRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const q = c.req.valid("query");
  const definition = await loadStudy(c, study);
  checkExportFilters(definition, q);
  // Everything that can refuse comes before anything that can write (the salt, made on first use).
  const after = await openExportCursor(c, study, q.cursor);
  const options = await exportOptions(c, definition, q);
  const sites = exportSites(c, definition, q.sites);
  const request = { sites, after, limit: q.limit, only: q.subjects, format: q.format };
  const { RECORDS_CONTENT_TYPE, recordsPage } = await import("../../exports/records.ts");
  await projectionPassBeforeExport(c, study);
  const page = await recordsPage(c.var.store, definition, request, options);
  await logAccess(c, "export-records", {
    format: q.format,
    filters: loggedFilters({
      rawOrLabel: q.rawOrLabel,
      forms: q.forms,
      fields: q.fields,
      events: q.events,
      subjects: q.subjects,
      includeEnteredInError: q.includeEnteredInError || undefined,
    }),
    sites,
    deidentified: options.deidentify !== undefined,
    continued: after !== undefined,
    subjects: page.subjects,
  });
  if (page.next) {
    const url = new URL(c.req.url);
    url.searchParams.set("cursor", page.next);
    c.header("Link", `<${url.pathname}${url.search}>; rel="next"`);
    c.header("X-Next-Cursor", page.next);
  }
  c.header("Content-Type", RECORDS_CONTENT_TYPE[q.format]);
  return streamedBody(c, page.chunks) as never;
};

exportRoutes.openapi(exportRecordsRoute, exportRecords);

const ChangesQuery = z.object({
  cursor: z
    .string()
    .optional()
    .openapi({ description: "From the previous answer; absent for the first pull" }),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  deidentify: flag,
  hashIds: flag,
});

const listChangesRoute = createRoute({
  method: "get",
  path: "/studies/{study}/changes",
  operationId: "listChanges",
  middleware: [permitted("export")],
  tags: ["Exports"],
  summary:
    "Incremental export: every committed revision and review-log entry (queries, verification, locks, signatures, status) after the cursor, in commit order, each exactly once. Store the returned cursor and pass it next time",
  request: { params: StudyParams, query: ChangesQuery },
  responses: {
    200: {
      description: "Changes",
      content: {
        "application/json": {
          schema: z.object({
            changes: z.array(FeedChange),
            cursor: z.string(),
            more: z.boolean(),
          }),
        },
      },
    },
    ...problemResponses([400, 401, 404]),
  },
});

const listChanges: RouteHandler<typeof listChangesRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const q = c.req.valid("query");
  const definition = await loadStudy(c, study);
  const after = await openFeedCursor(c, study, q.cursor);
  const options = await exportOptions(c, definition, q);
  const { changesPage } = await import("../../exports/changes.ts");
  const page = await changesPage(c.var.store, definition, {
    after,
    settledBefore: new Date(Date.now() - c.var.feedSettleMs).toISOString(),
    limit: q.limit,
    sites: new Set(exportSites(c, definition)),
    ...(options.deidentify ? { deidentify: options.deidentify } : {}),
  });
  const cursor = page.cursor ?? q.cursor ?? "";
  // Cursors are sealed (exports/sealed-cursor.ts): logging them names no subject.
  await logAccess(c, "export-changes", {
    cursorIn: q.cursor ?? null,
    cursorOut: cursor,
    count: page.changes.length,
    more: page.more,
    sites: exportSites(c, definition),
    deidentified: options.deidentify !== undefined,
  });
  return c.json({ changes: page.changes as z.infer<typeof FeedChange>[], cursor, more: page.more }, 200);
};

exportRoutes.openapi(listChangesRoute, listChanges);

const MetadataQuery = z.object({ format: z.enum(["json", "csv"]).default("json") });

async function table(
  c: Context<AppEnv>,
  rows: Record<string, unknown>[],
  format: "json" | "csv",
  columns?: string[],
) {
  if (format === "json") return c.json(rows, 200);
  const header = columns ?? Object.keys(rows[0] ?? {});
  const { csvText } = await import("../../exports/csv.ts");
  const csv = csvText([header, ...rows.map((r) => header.map((h) => r[h] ?? ""))], "people");
  return c.body(csv, 200, { "Content-Type": "text/csv; charset=utf-8" });
}

const getMetadataRoute = createRoute({
  method: "get",
  path: "/studies/{study}/metadata/{kind}",
  operationId: "getMetadata",
  middleware: [permitted("read-deidentified")],
  tags: ["Exports"],
  summary:
    "Study metadata in REDCap's shapes: arms, events, form-event-mapping, instruments, export-field-names",
  request: {
    params: StudyParams.extend({
      kind: z.enum(Object.keys(REDCAP_METADATA) as [keyof typeof REDCAP_METADATA]),
    }),
    query: MetadataQuery,
  },
  responses: {
    200: {
      description: "Rows",
      content: { "application/json": { schema: z.array(z.record(z.string(), z.unknown())) } },
    },
    ...problemResponses([400, 401, 404]),
  },
});

const getMetadata: RouteHandler<typeof getMetadataRoute, AppEnv> = async (c) => {
  const { study, kind } = c.req.valid("param");
  const definition = await loadStudy(c, study);
  return (await table(c, REDCAP_METADATA[kind](definition), c.req.valid("query").format)) as never;
};

exportRoutes.openapi(getMetadataRoute, getMetadata);

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

const exportOdmRoute = createRoute({
  method: "get",
  path: "/studies/{study}/odm",
  operationId: "exportOdm",
  middleware: [permitted("export")],
  tags: ["Exports"],
  summary:
    "CDISC ODM 1.3.2 XML: metadata and (unless clinicalData=false) clinical data, optionally with audit records; streamed",
  request: { params: StudyParams, query: OdmQuery },
  responses: {
    200: { description: "ODM XML", content: { "application/xml": { schema: z.string() } } },
    ...problemResponses([400, 401, 404]),
  },
});

const exportOdm: RouteHandler<typeof exportOdmRoute, AppEnv> = async (c) => {
  const q = c.req.valid("query");
  const definition = await loadStudy(c, c.req.valid("param").study);
  const { odmDownload } = await import("../../http/odm-download.ts");
  const chunks = await odmDownload(c, definition, q);
  c.header("Content-Type", "application/xml; charset=utf-8");
  return streamedBody(c, chunks) as never;
};

exportRoutes.openapi(exportOdmRoute, exportOdm);
