import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { EXPORT_JOB_FORMATS } from "../../store/export-job-formats.ts";
import { JOB_ID } from "../../store/job-lease.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

/**
 * Bulk exports as background jobs: a whole study (or the caller's sites of
 * it) written to files in the exports bucket (a folder locally) by a runner
 * that is not bound by a request's time or size, then handed out by
 * short-lived download URLs. Scoped exactly as the HTTP exports are
 * (http/export-scope.ts); the start and the end are in the access log.
 */
export const exportJobRoutes = createRouter();

/** What the routes do (shared with the exports page), imported by the first job request, not at a cold start. */
const handlers = () => import("../../http/export-job-requests.ts");

const names = z.array(z.string().min(1).max(200)).max(1000).optional();

export const ExportJobBody = z
  .object({
    format: z.enum(EXPORT_JOB_FORMATS).openapi({
      description:
        "Flat records (csv, json, ndjson: as GET /records), CDISC ODM 1.3.2 (odm: as GET /odm), or the warehouse path's gzipped NDJSON tables with manifest.json and athena.sql: a snapshot (warehouse) or the changes after `cursor` (warehouse-changes)",
    }),
    forms: names,
    fields: names,
    events: names,
    sites: names.openapi({ description: "Only these of the caller's sites" }),
    deidentify: z.boolean().default(false),
    hashIds: z
      .boolean()
      .default(false)
      .openapi({ description: "With deidentify: subject ids as keyed hashes" }),
    includeEnteredInError: z.boolean().default(false),
    audit: z.boolean().default(false).openapi({ description: "ODM: the revision history as AuditRecords" }),
    gzip: z.boolean().default(false).openapi({ description: "Gzip the files (their names end .gz)" }),
    cursor: z.string().min(1).max(500).optional().openapi({
      description:
        "warehouse-changes: the previous warehouse job's `nextCursor` (or a change feed cursor); absent, from the start",
    }),
  })
  .strict()
  .openapi("ExportJobRequest");

const ExportJobFileView = z.object({
  name: z.string(),
  contentType: z.string(),
  bytes: z.number().int(),
  rows: z.number().int(),
  sha256: z.string(),
  url: z.string().optional().openapi({ description: "Download URL (done jobs, GET of one job only)" }),
  urlExpiresAt: z.string().optional(),
});

const ExportJobView = z
  .object({
    id: z.string(),
    state: z.enum(["queued", "running", "done", "failed"]),
    format: z.enum(EXPORT_JOB_FORMATS),
    subjects: z.object({ total: z.number().int(), done: z.number().int() }),
    rows: z.number().int(),
    bytes: z.number().int(),
    percent: z.number().int(),
    files: z.array(ExportJobFileView),
    nextCursor: z
      .string()
      .optional()
      .openapi({ description: "Done warehouse jobs: the cursor the next warehouse-changes job starts from" }),
    startedBy: z.string(),
    schedule: z.string().optional().openapi({ description: "The scheduled export that started it" }),
    filters: z.record(z.string(), z.unknown()),
    error: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().optional(),
    status: z.string().openapi({ description: "Where to poll this job" }),
  })
  .openapi("ExportJob");

const JobParams = StudyParams.extend({
  job: z.string().openapi({ example: "20260101T120000000Z-1a2b3c4d" }),
});

const startRoute = createRoute({
  method: "post",
  path: "/studies/{study}/exports",
  tags: ["Exports"],
  operationId: "startExportJob",
  middleware: [permitted("export")],
  summary:
    "Start a bulk export job: the caller's subjects written to a file in the background, whatever the study's size; poll the status URL for progress and, once done, a 15-minute download URL",
  request: {
    params: StudyParams,
    body: { required: true, content: { "application/json": { schema: ExportJobBody } } },
  },
  responses: {
    202: {
      description: "Queued",
      content: {
        "application/json": { schema: z.object({ id: z.string(), state: z.string(), status: z.string() }) },
      },
    },
    ...problemResponses([400, 401, 403, 404, 415, 503]),
  },
});

const start: RouteHandler<typeof startRoute, AppEnv> = async (c) => {
  const { startJob, statusUrl } = await handlers();
  const job = await startJob(c, c.req.valid("param").study, c.req.valid("json"));
  const status = statusUrl(job.study, job.id);
  c.header("Location", status);
  return c.json({ id: job.id, state: job.state, status }, 202);
};

exportJobRoutes.openapi(startRoute, start);

const getRoute = createRoute({
  method: "get",
  path: "/studies/{study}/exports/{job}",
  tags: ["Exports"],
  operationId: "getExportJob",
  middleware: [permitted("export")],
  summary: "A bulk export job: state, progress, who started it, and its files with download URLs once done",
  request: { params: JobParams },
  responses: {
    200: { description: "The job", content: { "application/json": { schema: ExportJobView } } },
    ...problemResponses([401, 403, 404]),
  },
});

const getJob: RouteHandler<typeof getRoute, AppEnv> = async (c) => {
  const { study, job } = c.req.valid("param");
  return c.json(await (await handlers()).jobView(c, study, job), 200);
};

exportJobRoutes.openapi(getRoute, getJob);

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: z
    .string()
    .regex(JOB_ID, "not a job id")
    .optional()
    .openapi({ description: "The previous page's `next`" }),
});

const listRoute = createRoute({
  method: "get",
  path: "/studies/{study}/exports",
  tags: ["Exports"],
  operationId: "listExportJobs",
  middleware: [permitted("export")],
  summary:
    "The study's bulk export jobs the caller may see, newest first, a page at a time (no download URLs)",
  request: { params: StudyParams, query: ListQuery },
  responses: {
    200: {
      description: "Jobs",
      content: {
        "application/json": {
          schema: z.object({ jobs: z.array(ExportJobView), next: z.string().optional() }),
        },
      },
    },
    ...problemResponses([400, 401, 403, 404]),
  },
});

const listJobs: RouteHandler<typeof listRoute, AppEnv> = async (c) =>
  c.json(await (await handlers()).jobList(c, c.req.valid("param").study, c.req.valid("query")), 200);

exportJobRoutes.openapi(listRoute, listJobs);
