import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { SUBJECT_STATUSES } from "../../engine/review.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import { changeSubjectStatus, readSubjectStatus } from "../../http/subject-status.ts";
import { createRouter } from "../router.ts";
import { problemResponses, SubjectParams } from "../schemas.ts";

export const subjectStatusRoutes = createRouter();

const StatusBody = z
  .object({
    status: z.enum(SUBJECT_STATUSES),
    date: z.string().max(10).optional().openapi({
      description: "When the status took effect (YYYY-MM-DD, not after today); required for withdrawn",
    }),
    reason: z.string().max(2000).optional().openapi({
      description: "Required for withdrawn, and to go back from a closed status to screened or enrolled",
    }),
  })
  .strict()
  .openapi("SubjectStatusChange");

const StatusRecord = z
  .object({
    status: z.enum(SUBJECT_STATUSES),
    date: z.string().optional(),
    reason: z.string().optional(),
    at: z
      .string()
      .optional()
      .openapi({ description: "When it was recorded; absent for the implicit enrolled" }),
    by: z.string().optional(),
    seq: z
      .number()
      .int()
      .optional()
      .openapi({ description: "The entry's place in the subject's review log" }),
  })
  .openapi("SubjectStatus");

const today = () => new Date().toISOString().slice(0, 10);

const changeSubjectStatusRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects/{subject}/status",
  tags: ["Subjects"],
  operationId: "changeSubjectStatus",
  middleware: [permitted("change-subject-status")],
  summary:
    "Record the subject's status (screened, screen failure, enrolled, withdrawn, lost to follow-up, completed): audited, in the change feed and the flat export",
  request: {
    params: SubjectParams,
    body: { required: true, content: { "application/json": { schema: StatusBody } } },
  },
  responses: {
    201: { description: "The status now", content: { "application/json": { schema: StatusRecord } } },
    ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422]),
  },
});

const postStatus: RouteHandler<typeof changeSubjectStatusRoute, AppEnv> = async (c) => {
  const { study, subject: id } = c.req.valid("param");
  await loadStudy(c, study);
  const subject = await loadSubject(c, study, id);
  const record = await changeSubjectStatus(c, subject, c.req.valid("json"), today());
  return c.json(record, 201);
};

const readSubjectStatusRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}/status",
  tags: ["Subjects"],
  operationId: "readSubjectStatus",
  middleware: [permitted("read-identified")],
  summary: "The subject's status now (enrolled when none was recorded) and every change, oldest first",
  request: { params: SubjectParams },
  responses: {
    200: {
      description: "Status",
      content: {
        "application/json": { schema: z.object({ current: StatusRecord, history: z.array(StatusRecord) }) },
      },
    },
    ...problemResponses([401, 404]),
  },
});

const getStatus: RouteHandler<typeof readSubjectStatusRoute, AppEnv> = async (c) => {
  const { study, subject: id } = c.req.valid("param");
  await loadStudy(c, study);
  const subject = await loadSubject(c, study, id);
  return c.json(await readSubjectStatus(c, subject), 200);
};

subjectStatusRoutes.openapi(changeSubjectStatusRoute, postStatus);
subjectStatusRoutes.openapi(readSubjectStatusRoute, getStatus);
