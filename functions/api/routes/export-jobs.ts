import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import { logAccess, loggedFilters } from "../../http/access-events.ts";
import type { AppEnv } from "../../http/context.ts";
import { checkExportFilters, exportSites } from "../../http/export-scope.ts";
import { permitted, sitesOf } from "../../http/permissions.ts";
import { type FieldProblem, ProblemError, problems } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { EXPORT_JOB_FORMATS } from "../../store/export-job-formats.ts";
import type { ExportJob } from "../../store/export-jobs.ts";
import { DOWNLOAD_URL_SECONDS, type ExportTarget } from "../../store/export-target.ts";
import { JOB_ID, newJobId } from "../../store/job-lease.ts";
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

const names = z.array(z.string().min(1).max(200)).max(1000).optional();

const ExportJobBody = z
  .object({
    format: z.enum(EXPORT_JOB_FORMATS).openapi({
      description: "Flat records (csv, json, ndjson: as GET /records) or CDISC ODM 1.3.2 (odm: as GET /odm)",
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
    startedBy: z.string(),
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

const statusUrl = (study: string, id: string) => `/api/v1/studies/${study}/exports/${id}`;

function percentOf(job: ExportJob): number {
  if (job.state === "done") return 100;
  return job.subjectsTotal === 0 ? 0 : Math.floor((100 * job.subjectsDone) / job.subjectsTotal);
}

async function view(job: ExportJob, target?: ExportTarget): Promise<z.infer<typeof ExportJobView>> {
  const { format, ...filters } = job.request;
  const expiresAt = new Date(Date.now() + DOWNLOAD_URL_SECONDS * 1000).toISOString();
  const files = await Promise.all(
    job.files.map(async (file) => {
      if (!target || job.state !== "done") return file;
      const download = `${job.study}-${job.id}-${file.name.replaceAll("/", "_")}`;
      const url = await target.downloadUrl(
        `${job.study}/${job.id}/${file.name}`,
        { contentType: file.contentType, contentDisposition: `attachment; filename="${download}"` },
        DOWNLOAD_URL_SECONDS,
      );
      return { ...file, url, urlExpiresAt: expiresAt };
    }),
  );
  return {
    id: job.id,
    state: job.state,
    format,
    subjects: { total: job.subjectsTotal, done: job.subjectsDone },
    rows: job.rows,
    bytes: job.bytes,
    percent: percentOf(job),
    files,
    startedBy: job.startedBy,
    filters,
    ...(job.error ? { error: job.error } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    status: statusUrl(job.study, job.id),
  };
}

const allSitesOf = (definition: StudyDefinition) => definition.study.sites.map((s) => s.id);

/**
 * A job is the caller's to see when its starter's export sites are all among the caller's; a
 * de-identified caller's, only when its file is de-identified with hashed ids too.
 */
function visible(c: Context<AppEnv>, definition: StudyDefinition, job: ExportJob): boolean {
  if (c.var.principal.deidentified && !(job.request.deidentify && job.request.hashIds)) return false;
  const mine = new Set(sitesOf(c.var.principal, allSitesOf(definition), "export"));
  return job.sites.every((s) => mine.has(s));
}

function target(c: Context<AppEnv>): ExportTarget {
  const found = c.var.exportJobs.target;
  if (!found)
    throw new ProblemError(
      503,
      "no-export-store",
      "Bulk exports cannot be written here",
      "This deployment has no store for export files.",
    );
  return found;
}

/** What only some formats take. */
function checkFormatChoices(body: z.infer<typeof ExportJobBody>): void {
  const errors: FieldProblem[] = [];
  if (body.format === "odm")
    for (const key of ["forms", "fields", "events"] as const)
      if (body[key])
        errors.push({
          pointer: `/${key}`,
          code: "format",
          message: "ODM exports whole casebooks: no filter",
        });
  if (body.audit && body.format !== "odm")
    errors.push({ pointer: "/audit", code: "format", message: "the audit trail is exported in ODM only" });
  if (body.hashIds && !body.deidentify)
    errors.push({ pointer: "/hashIds", code: "deidentify", message: "hashIds needs deidentify" });
  if (errors.length > 0) throw problems.badRequest("These choices do not go together.", errors);
}

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
  const { study } = c.req.valid("param");
  const body = c.req.valid("json");
  const definition = await loadStudy(c, study);
  checkExportFilters(definition, body);
  checkFormatChoices(body);
  target(c);
  const principal = c.var.principal;
  const deidentified = body.deidentify || principal.deidentified === true;
  const request = {
    format: body.format,
    ...(body.forms ? { forms: body.forms } : {}),
    ...(body.fields ? { fields: body.fields } : {}),
    ...(body.events ? { events: body.events } : {}),
    ...(body.sites ? { sites: body.sites } : {}),
    // Forced on a de-identified principal here too, so the job says what its file is.
    deidentify: deidentified,
    hashIds: body.hashIds || principal.deidentified === true,
    includeEnteredInError: body.includeEnteredInError,
    audit: body.audit,
    gzip: body.gzip,
  };
  const id = newJobId(new Date());
  // Logged before the job exists: in AWS its item starts the worker, and nothing leaves without its entry.
  await logAccess(c, "export-job-start", {
    job: id,
    format: body.format,
    filters: loggedFilters({
      forms: body.forms,
      fields: body.fields,
      events: body.events,
      includeEnteredInError: body.includeEnteredInError || undefined,
      audit: body.audit || undefined,
      gzip: body.gzip || undefined,
    }),
    sites: exportSites(c, definition, body.sites),
    deidentified,
  });
  const job = await c.var.store.exportJobs.create({
    id,
    study,
    definitionVersion: definition.version,
    request,
    principal,
    sites: sitesOf(principal, allSitesOf(definition), "export"),
  });
  c.var.exportJobs.start(study, job.id);
  const status = statusUrl(study, job.id);
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
  const { study, job: id } = c.req.valid("param");
  const definition = await loadStudy(c, study);
  const job = await c.var.store.exportJobs.get(study, id);
  if (!job || !visible(c, definition, job)) throw problems.notFound(`Export job ${id}`);
  return c.json(await view(job, c.var.exportJobs.target), 200);
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

const listJobs: RouteHandler<typeof listRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const q = c.req.valid("query");
  const definition = await loadStudy(c, study);
  const page = await c.var.store.exportJobs.list(study, {
    limit: q.limit,
    ...(q.before ? { before: q.before } : {}),
  });
  const jobs = await Promise.all(
    page.jobs.filter((job) => visible(c, definition, job)).map((job) => view(job)),
  );
  return c.json({ jobs, ...(page.next ? { next: page.next } : {}) }, 200);
};

exportJobRoutes.openapi(listRoute, listJobs);
