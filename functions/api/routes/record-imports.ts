import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { DateFormat } from "../../exports/redcap-records-in.ts";
import type { AppEnv } from "../../http/context.ts";
import { percentOf } from "../../http/import-job-runner.ts";
import { permitted, sitesOf } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { CHUNK_BYTES, type ImportJob } from "../../store/import-jobs.ts";
import { ALL_SITES } from "../../store/principal.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

/**
 * Record imports too large for one request: the rows are read and stored at
 * once (202), then checked and written by a background runner, batch by
 * batch, with the REDCap import's semantics (all or nothing, every instance
 * through the save path). The job is polled for its progress.
 */
export const recordImportRoutes = createRouter();

/** REDCap's record formats (CSV, JSON, XML): imported by the first import, not at a cold start. */
const records = () => import("../../exports/redcap-records-in.ts");

const Refused = z.object({
  record: z.string(),
  event: z.string(),
  field: z.string(),
  value: z.string(),
  message: z.string(),
});

const ImportJobView = z
  .object({
    id: z.string(),
    state: z.enum(["queued", "checking", "writing", "done", "failed"]),
    dryRun: z.boolean(),
    overwriteBehavior: z.enum(["normal", "overwrite"]),
    total: z.number().int().openapi({ description: "Form instances in the import" }),
    checked: z.number().int(),
    written: z
      .number()
      .int()
      .openapi({ description: "Instances saved as a new revision (unchanged ones are not)" }),
    percent: z.number().int(),
    refused: z
      .array(Refused)
      .openapi({ description: "The first refused values, by record, event and field" }),
    refusedCount: z.number().int(),
    error: z.string().optional(),
    startedBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().optional(),
    status: z.string().openapi({ description: "Where to poll this job" }),
  })
  .openapi("ImportJob");

const cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const ImportJobBody = z
  .object({
    format: z.enum(["csv", "json"]).default("json"),
    data: z.union([z.string(), z.array(z.record(z.string(), cell))]).openapi({
      description:
        "REDCap flat records: CSV text with a header row, or JSON (a list of objects, or its text)",
    }),
    overwriteBehavior: z.enum(["normal", "overwrite"]).default("normal"),
    dateFormat: z.enum(["YMD", "MDY", "DMY"]).default("YMD"),
    dryRun: z.boolean().default(false),
  })
  .openapi("ImportJobRequest");

const JobParams = StudyParams.extend({
  job: z.string().openapi({ example: "20260101T120000000Z-1a2b3c4d" }),
});

function statusUrl(study: string, id: string) {
  return `/api/v1/studies/${study}/record-imports/${id}`;
}

function view(job: ImportJob): z.infer<typeof ImportJobView> {
  return {
    id: job.id,
    state: job.state,
    dryRun: job.options.dryRun,
    overwriteBehavior: job.options.overwrite ? "overwrite" : "normal",
    total: job.total,
    checked: job.checked,
    written: job.written,
    percent: percentOf(job),
    refused: job.refused,
    refusedCount: job.refusedCount,
    ...(job.error ? { error: job.error } : {}),
    startedBy: job.startedBy,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    status: statusUrl(job.study, job.id),
  };
}

/** A job is the caller's to see when its starter's sites are all among the caller's (data entry) sites. */
function visible(c: Context<AppEnv>, allSites: string[], job: ImportJob): boolean {
  const mine = new Set(sitesOf(c.var.principal, allSites, "enter-data"));
  const theirs = job.sites.includes(ALL_SITES) ? allSites : job.sites;
  return theirs.every((s) => mine.has(s));
}

const startRoute = createRoute({
  method: "post",
  path: "/studies/{study}/record-imports",
  tags: ["Record imports"],
  operationId: "startRecordImport",
  middleware: [permitted("enter-data")],
  summary:
    "Start a record import as a background job (REDCap flat records, up to 6 MB): the rows are read and stored, then checked and written in batches; poll the status URL",
  request: {
    params: StudyParams,
    body: { required: true, content: { "application/json": { schema: ImportJobBody } } },
  },
  responses: {
    202: {
      description: "Stored and queued",
      content: {
        "application/json": { schema: z.object({ id: z.string(), state: z.string(), status: z.string() }) },
      },
    },
    ...problemResponses([400, 401, 403, 404, 413, 415]),
  },
});

const start: RouteHandler<typeof startRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const definition = await loadStudy(c, study);
  const body = c.req.valid("json");
  const { parseImportData, readImportRows } = await records();
  let rows: Record<string, string>[];
  try {
    rows = parseImportData(body.data, body.format);
  } catch (e) {
    throw problems.badRequest(`The data could not be read as ${body.format}: ${(e as Error).message}`);
  }
  const { instances, refused } = readImportRows(definition, rows, body.dateFormat as DateFormat);
  if (refused.length > 0)
    throw problems.badRequest(
      `${refused.length} value(s) cannot be read; nothing was stored.`,
      refused.slice(0, 100).map((r) => ({
        pointer: "/data",
        code: "refused",
        message: `record "${r.record}", event "${r.event}", field "${r.field}", value "${r.value}": ${r.message}`,
      })),
    );
  if (instances.length === 0) throw problems.badRequest("The data holds no form instance to import.");
  // A stored row (and the revision it becomes) must fit one DynamoDB item.
  const oversized = instances.find((i) => Buffer.byteLength(JSON.stringify(i)) > CHUNK_BYTES);
  if (oversized)
    throw problems.badRequest(
      `Record ${oversized.record}, ${oversized.eventName}, ${oversized.form}: one form instance holds more than ${CHUNK_BYTES / 1000} KB.`,
    );
  const principal = c.var.principal;
  const allSites = definition.study.sites.map((s) => s.id);
  const job = await c.var.store.importJobs.create({
    study,
    definitionVersion: definition.version,
    options: {
      overwrite: body.overwriteBehavior === "overwrite",
      dryRun: body.dryRun,
      dateFormat: body.dateFormat,
    },
    principal,
    sites: sitesOf(principal, allSites, "enter-data"),
    instances,
    batchSize: c.var.importJobs.batchSize,
  });
  c.var.importJobs.start(study, job.id);
  const status = statusUrl(study, job.id);
  c.header("Location", status);
  return c.json({ id: job.id, state: job.state, status }, 202);
};

recordImportRoutes.openapi(startRoute, start);

const getRoute = createRoute({
  method: "get",
  path: "/studies/{study}/record-imports/{job}",
  tags: ["Record imports"],
  operationId: "getRecordImport",
  middleware: [permitted("enter-data")],
  summary: "A record import job: its state, progress, refused values and who started it",
  request: { params: JobParams },
  responses: {
    200: { description: "The job", content: { "application/json": { schema: ImportJobView } } },
    ...problemResponses([401, 403, 404]),
  },
});

const getJob: RouteHandler<typeof getRoute, AppEnv> = async (c) => {
  const { study, job: id } = c.req.valid("param");
  const definition = await loadStudy(c, study);
  const job = await c.var.store.importJobs.get(study, id);
  const allSites = definition.study.sites.map((s) => s.id);
  if (!job || !visible(c, allSites, job)) throw problems.notFound(`Import job ${id}`);
  return c.json(view(job), 200);
};

recordImportRoutes.openapi(getRoute, getJob);

const listRoute = createRoute({
  method: "get",
  path: "/studies/{study}/record-imports",
  tags: ["Record imports"],
  operationId: "listRecordImports",
  middleware: [permitted("enter-data")],
  summary:
    "The study's record import jobs the caller may see (started within the caller's sites), oldest first",
  request: { params: StudyParams },
  responses: {
    200: {
      description: "Jobs",
      content: { "application/json": { schema: z.object({ jobs: z.array(ImportJobView) }) } },
    },
    ...problemResponses([401, 403, 404]),
  },
});

const listJobs: RouteHandler<typeof listRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const definition = await loadStudy(c, study);
  const allSites = definition.study.sites.map((s) => s.id);
  const jobs = (await c.var.store.importJobs.list(study)).filter((job) => visible(c, allSites, job));
  return c.json({ jobs: jobs.map(view) }, 200);
};

recordImportRoutes.openapi(listRoute, listJobs);
