import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { SCHEDULE_AT } from "../../engine/export-schedule-times.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { EXPORT_JOB_FORMATS } from "../../store/export-job-formats.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";
import { ExportJobBody } from "./export-jobs.ts";

/**
 * Scheduled exports: a bulk export job started once a day at a set UTC time,
 * as the schedule's creator — a full export, or an incremental one (the
 * warehouse's changes since the last done job's cursor). Defined with the
 * same body and checks as a job start; replaced only with If-Match.
 */
export const exportScheduleRoutes = createRouter();

/** What the routes do, imported by the first schedule request, not at a cold start. */
const handlers = () => import("../../http/export-schedules.ts");

const ScheduleParams = StudyParams.extend({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,40}$/, "lower-case letters, digits and hyphens, at most 41")
    .openapi({ example: "nightly-full" }),
});

const ScheduleBody = ExportJobBody.extend({
  kind: z.enum(["full", "incremental"]).openapi({
    description:
      "full: the whole export every day; incremental: warehouse-changes from the cursor the last done job ended at (`cursor` here: where the first starts)",
  }),
  at: z.string().regex(SCHEDULE_AT, "HH:MM, 24-hour, UTC").openapi({ example: "02:00" }),
})
  .strict()
  .openapi("ExportScheduleRequest");

const IfMatch = z.object({
  "if-match": z
    .string()
    .optional()
    .openapi({ description: "The schedule's ETag: required to replace one, optional to delete" }),
});

const ExportScheduleView = z
  .object({
    name: z.string(),
    kind: z.enum(["full", "incremental"]),
    at: z.string(),
    format: z.enum(EXPORT_JOB_FORMATS),
    filters: z.record(z.string(), z.unknown()),
    version: z.number().int().openapi({ description: "As the ETag: send it in If-Match to replace" }),
    createdBy: z
      .string()
      .openapi({ description: "Who defined it: the jobs start as them, as they are at the run" }),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastRunDay: z.string().optional().openapi({ description: "The last UTC day a run was decided on" }),
    lastJob: z.object({ id: z.string(), state: z.string() }).optional(),
    cursor: z
      .string()
      .optional()
      .openapi({ description: "incremental: where the next job starts (the last done job's nextCursor)" }),
    lastError: z.string().optional().openapi({ description: "Why the last run started no job, or failed" }),
    nextRunAt: z.string(),
    self: z.string(),
  })
  .openapi("ExportSchedule");

const ok = { "application/json": { schema: ExportScheduleView } };

const putRoute = createRoute({
  method: "put",
  path: "/studies/{study}/export-schedules/{name}",
  tags: ["Exports"],
  operationId: "putExportSchedule",
  middleware: [permitted("export")],
  summary:
    "Create (no If-Match) or replace (If-Match: its ETag) a scheduled export: a bulk export job started once a UTC day at `at`, as the caller",
  request: {
    params: ScheduleParams,
    headers: IfMatch,
    body: { required: true, content: { "application/json": { schema: ScheduleBody } } },
  },
  responses: {
    200: { description: "Replaced", content: ok },
    201: { description: "Created", content: ok },
    ...problemResponses([400, 401, 403, 404, 412, 415, 428, 503]),
  },
});

const put: RouteHandler<typeof putRoute, AppEnv> = async (c) => {
  const { putSchedule, scheduleView, etagOf, scheduleUrl } = await handlers();
  const { study, name } = c.req.valid("param");
  const { created, schedule } = await putSchedule(
    c,
    study,
    name,
    c.req.valid("json"),
    c.req.valid("header")["if-match"],
  );
  c.header("ETag", etagOf(schedule));
  if (created) {
    c.header("Location", scheduleUrl(study, name));
    return c.json(await scheduleView(c.var.store, schedule), 201);
  }
  return c.json(await scheduleView(c.var.store, schedule), 200);
};

exportScheduleRoutes.openapi(putRoute, put);

const getRoute = createRoute({
  method: "get",
  path: "/studies/{study}/export-schedules/{name}",
  tags: ["Exports"],
  operationId: "getExportSchedule",
  middleware: [permitted("export")],
  summary: "A scheduled export: its definition, its last run and job, its cursor, and when it runs next",
  request: { params: ScheduleParams },
  responses: {
    200: { description: "The schedule", content: ok },
    ...problemResponses([400, 401, 403, 404]),
  },
});

const get: RouteHandler<typeof getRoute, AppEnv> = async (c) => {
  const { getSchedule, scheduleView, etagOf } = await handlers();
  const { study, name } = c.req.valid("param");
  const schedule = await getSchedule(c, study, name);
  c.header("ETag", etagOf(schedule));
  return c.json(await scheduleView(c.var.store, schedule), 200);
};

exportScheduleRoutes.openapi(getRoute, get);

const listRoute = createRoute({
  method: "get",
  path: "/studies/{study}/export-schedules",
  tags: ["Exports"],
  operationId: "listExportSchedules",
  middleware: [permitted("export")],
  summary: "The study's scheduled exports the caller may see",
  request: { params: StudyParams },
  responses: {
    200: {
      description: "Schedules",
      content: { "application/json": { schema: z.object({ schedules: z.array(ExportScheduleView) }) } },
    },
    ...problemResponses([401, 403, 404]),
  },
});

const list: RouteHandler<typeof listRoute, AppEnv> = async (c) =>
  c.json({ schedules: await (await handlers()).listSchedules(c, c.req.valid("param").study) }, 200);

exportScheduleRoutes.openapi(listRoute, list);

const deleteRoute = createRoute({
  method: "delete",
  path: "/studies/{study}/export-schedules/{name}",
  tags: ["Exports"],
  operationId: "deleteExportSchedule",
  middleware: [permitted("export")],
  summary: "Stop a scheduled export (its jobs and their files stay)",
  request: { params: ScheduleParams, headers: IfMatch },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses([400, 401, 403, 404, 412]),
  },
});

const remove: RouteHandler<typeof deleteRoute, AppEnv> = async (c) => {
  const { study, name } = c.req.valid("param");
  await (await handlers()).deleteSchedule(c, study, name, c.req.valid("header")["if-match"]);
  return c.body(null, 204);
};

exportScheduleRoutes.openapi(deleteRoute, remove);
