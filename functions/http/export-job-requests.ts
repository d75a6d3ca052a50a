import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { WAREHOUSE_FORMATS } from "../store/export-job-formats.ts";
import type { ExportJob, ExportJobRequest } from "../store/export-jobs.ts";
import { DOWNLOAD_URL_SECONDS, type ExportTarget } from "../store/export-target.ts";
import { newJobId } from "../store/job-lease.ts";
import type { Principal } from "../store/principal.ts";
import type { Store } from "../store/store.ts";
import { logAccess, loggedFilters } from "./access-events.ts";
import type { AppEnv } from "./context.ts";
import { checkExportFilters, exportSitesOf, openFeedCursor } from "./export-scope.ts";
import { sitesOf } from "./permissions.ts";
import { type FieldProblem, ProblemError, problems } from "./problems.ts";
import { loadStudy } from "./resolve.ts";

/**
 * Starting, showing and listing bulk export jobs: the one way both the API
 * (api/routes/export-jobs.ts) and the exports page do it. Imported on the
 * first job request, not at a cold start.
 */

/** The start request as the route's schema reads it: what the runner will read, nothing else. */
export type StartBody = ExportJobRequest;

export const statusUrl = (study: string, id: string) => `/api/v1/studies/${study}/exports/${id}`;

function percentOf(job: ExportJob): number {
  if (job.state === "done") return 100;
  return job.subjectsTotal === 0 ? 0 : Math.floor((100 * job.subjectsDone) / job.subjectsTotal);
}

export type ExportJobView = Awaited<ReturnType<typeof view>>;

async function view(job: ExportJob, target?: ExportTarget) {
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
    ...(job.nextCursor ? { nextCursor: job.nextCursor } : {}),
    startedBy: job.startedBy,
    ...(job.schedule ? { schedule: job.schedule } : {}),
    filters,
    ...(job.error ? { error: job.error } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    status: statusUrl(job.study, job.id),
  };
}

export const allSitesOf = (definition: StudyDefinition) => definition.study.sites.map((s) => s.id);

/**
 * A job is the caller's to see when its starter's export sites are all among the caller's; a
 * de-identified caller's, only when its file is de-identified with hashed ids too.
 */
export function visible(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  job: Pick<ExportJob, "request" | "sites">,
): boolean {
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
export function checkFormatChoices(body: StartBody): void {
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
  if (WAREHOUSE_FORMATS.includes(body.format))
    for (const key of ["fields", "events"] as const)
      if (body[key])
        errors.push({
          pointer: `/${key}`,
          code: "format",
          message: "the warehouse has a table per instrument: only forms filter",
        });
  if (body.cursor !== undefined && body.format !== "warehouse-changes")
    errors.push({ pointer: "/cursor", code: "format", message: "a cursor starts warehouse-changes only" });
  if (body.hashIds && !body.deidentify)
    errors.push({ pointer: "/hashIds", code: "deidentify", message: "hashIds needs deidentify" });
  if (errors.length > 0) throw problems.badRequest("These choices do not go together.", errors);
}

/** Every refusal a start makes (the study, filters, choices, cursor, a store for files): the study's definition. */
export async function checkStart(
  c: Context<AppEnv>,
  study: string,
  body: StartBody,
): Promise<StudyDefinition> {
  const definition = await loadStudy(c, study);
  checkExportFilters(definition, body);
  checkFormatChoices(body);
  await openFeedCursor(c, study, body.cursor);
  target(c);
  return definition;
}

/** The request a job stores for `principal`: de-identification forced on a de-identified one. */
export function jobRequestOf(principal: Principal, body: StartBody): ExportJobRequest {
  return {
    format: body.format,
    ...(body.forms ? { forms: body.forms } : {}),
    ...(body.fields ? { fields: body.fields } : {}),
    ...(body.events ? { events: body.events } : {}),
    ...(body.sites ? { sites: body.sites } : {}),
    // Forced on a de-identified principal here too, so the job says what its file is.
    deidentify: body.deidentify || principal.deidentified === true,
    hashIds: body.hashIds || principal.deidentified === true,
    includeEnteredInError: body.includeEnteredInError,
    audit: body.audit,
    gzip: body.gzip,
    ...(body.cursor !== undefined ? { cursor: body.cursor } : {}),
  };
}

/** Who starts a job and how: a request's caller, or a schedule's creator at a tick. */
export interface JobStarter {
  store: Store;
  principal: Principal;
  /** Appends to the study's access log as the principal (with the request's origin, when there is one). */
  log: (action: string, details: Record<string, unknown>) => Promise<void>;
  start: (study: string, id: string) => void;
}

/** Logs and queues a checked job; the job as stored. */
export async function queueJob(
  starter: JobStarter,
  definition: StudyDefinition,
  body: StartBody,
  options: { id?: string; schedule?: string } = {},
): Promise<ExportJob> {
  const { principal } = starter;
  const study = definition.study.id;
  const request = jobRequestOf(principal, body);
  const id = options.id ?? newJobId(new Date());
  // Logged before the job exists: in AWS its item starts the worker, and nothing leaves without its entry.
  await starter.log("export-job-start", {
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
    sites: exportSitesOf(principal, definition, body.sites),
    deidentified: request.deidentify,
    ...(options.schedule ? { schedule: options.schedule } : {}),
  });
  const job = await starter.store.exportJobs.create({
    id,
    study,
    definitionVersion: definition.version,
    request,
    principal,
    sites: sitesOf(principal, allSitesOf(definition), "export"),
    ...(options.schedule ? { schedule: options.schedule } : {}),
  });
  starter.start(study, job.id);
  return job;
}

/** Checks, logs and queues a job for the caller; the job as stored. */
export async function startJob(c: Context<AppEnv>, study: string, body: StartBody): Promise<ExportJob> {
  const definition = await checkStart(c, study, body);
  return queueJob(
    {
      store: c.var.store,
      principal: c.var.principal,
      log: (action, details) => logAccess(c, action, details),
      start: c.var.exportJobs.start,
    },
    definition,
    body,
  );
}

export async function jobView(c: Context<AppEnv>, study: string, id: string) {
  const definition = await loadStudy(c, study);
  const job = await c.var.store.exportJobs.get(study, id);
  if (!job || !visible(c, definition, job)) throw problems.notFound(`Export job ${id}`);
  return view(job, c.var.exportJobs.target);
}

/** The visible jobs of a page of the study's, newest first; with download URLs for done ones when `urls`. */
export async function jobList(
  c: Context<AppEnv>,
  study: string,
  q: { limit: number; before?: string; urls?: boolean },
) {
  const definition = await loadStudy(c, study);
  const page = await c.var.store.exportJobs.list(study, {
    limit: q.limit,
    ...(q.before ? { before: q.before } : {}),
  });
  const jobs = await Promise.all(
    page.jobs
      .filter((job) => visible(c, definition, job))
      .map((job) => view(job, q.urls ? c.var.exportJobs.target : undefined)),
  );
  return { jobs, ...(page.next ? { next: page.next } : {}) };
}
