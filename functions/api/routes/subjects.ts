import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { dayOneOf, visitDeviations } from "../../engine/schedule.ts";
import type { AppEnv } from "../../http/context.ts";
import * as enrolment from "../../http/enrolment.ts";
import { permitted, sitesOf } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import { createRouter } from "../router.ts";
import { Casebook, EnrolBody, problemResponses, StudyParams, Subject, SubjectParams } from "../schemas.ts";

export const subjectRoutes = createRouter();

const publicSubject = ({ id, site, arm, enrolledAt, enrolledBy }: z.infer<typeof Subject>) => ({
  id,
  site,
  arm,
  enrolledAt,
  enrolledBy,
});

const enrolSubjectRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects",
  tags: ["Subjects"],
  operationId: "enrolSubject",
  middleware: [permitted("enrol")],
  summary: "Enrol a subject at one of the caller's sites; the id is generated unless given",
  request: {
    params: StudyParams,
    body: { required: true, content: { "application/json": { schema: EnrolBody } } },
  },
  responses: {
    201: { description: "Enrolled", content: { "application/json": { schema: Subject } } },
    ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422, 423]),
  },
});

const enrolSubject: RouteHandler<typeof enrolSubjectRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const definition = await loadStudy(c, study);
  const body = c.req.valid("json");
  const result = await enrolment.enrolSubject(c, definition, body);
  if (result.kind === "refused") {
    if (result.errors.some((e) => e.code === "not-your-site"))
      throw problems.forbidden(`This token cannot enrol at ${body.site}.`);
    throw problems.invalid("The subject cannot be enrolled as given.", result.errors);
  }
  if (result.kind === "exists") throw problems.subjectExists(body.subjectId ?? "");
  c.header("Location", `/api/v1/studies/${study}/subjects/${result.subject.id}`);
  return c.json(publicSubject(result.subject), 201);
};

subjectRoutes.openapi(enrolSubjectRoute, enrolSubject);

const listSubjectsRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects",
  tags: ["Subjects"],
  operationId: "listSubjects",
  middleware: [permitted("read-identified")],
  summary: "Subjects of the caller's sites",
  request: { params: StudyParams },
  responses: {
    200: {
      description: "Subjects",
      content: { "application/json": { schema: z.object({ subjects: z.array(Subject) }) } },
    },
    ...problemResponses([401, 404]),
  },
});

const listSubjects: RouteHandler<typeof listSubjectsRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const definition = await loadStudy(c, study);
  const sites = sitesOf(
    c.var.principal,
    definition.study.sites.map((s) => s.id),
    "read-identified",
  );
  const subjects = await c.var.store.listSubjects(study, sites);
  return c.json({ subjects: subjects.map(publicSubject) }, 200);
};

subjectRoutes.openapi(listSubjectsRoute, listSubjects);

const readCasebookRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}",
  tags: ["Subjects"],
  operationId: "readCasebook",
  middleware: [permitted("read-identified")],
  summary: "The casebook: every form instance with status, revision and protocol deviations",
  request: { params: SubjectParams },
  responses: {
    200: { description: "Casebook", content: { "application/json": { schema: Casebook } } },
    ...problemResponses([401, 404]),
  },
});

const readCasebook: RouteHandler<typeof readCasebookRoute, AppEnv> = async (c) => {
  const { study, subject: id } = c.req.valid("param");
  const definition = await loadStudy(c, study);
  const subject = await loadSubject(c, study, id);
  const { instances } = await c.var.store.readCasebook(study, id);
  const dayOne = dayOneOf(definition, instances);
  return c.json(
    {
      ...publicSubject(subject),
      dayOne: dayOne ?? null,
      instances: instances.map((i) => ({
        event: i.event,
        form: i.form,
        instance: i.instance,
        status: i.status,
        rev: i.rev,
        definitionVersion: i.definitionVersion,
        committedAt: i.committedAt,
        committedBy: i.committedBy,
        deviations: visitDeviations(definition, dayOne, i),
      })),
    },
    200,
  );
};

subjectRoutes.openapi(readCasebookRoute, readCasebook);
