import { createRoute, z } from "@hono/zod-openapi";
import { matchesPattern } from "../../engine/pattern.ts";
import { dayOneOf, visitDeviations } from "../../engine/schedule.ts";
import { requireRole, seesSite, sitesOf } from "../auth.ts";
import { type FieldProblem, problems } from "../problems.ts";
import { loadStudy, loadSubject } from "../resolve.ts";
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

subjectRoutes.openapi(
  createRoute({
    method: "post",
    path: "/studies/{study}/subjects",
    tags: ["Subjects"],
    summary: "Enrol a subject at one of the caller's sites; the id is generated unless given",
    request: {
      params: StudyParams,
      body: { required: true, content: { "application/json": { schema: EnrolBody } } },
    },
    responses: {
      201: { description: "Enrolled", content: { "application/json": { schema: Subject } } },
      ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422]),
    },
  }),
  async (c) => {
    const { study } = c.req.valid("param");
    const definition = await loadStudy(c, study);
    const principal = c.var.principal;
    requireRole(principal, ["site"], "enrol subjects");
    const body = c.req.valid("json");
    const errors: FieldProblem[] = [];
    const site = definition.study.sites.find((s) => s.id === body.site);
    if (!site)
      errors.push({
        pointer: "/site",
        code: "unknown-site",
        message: `${body.site} is not a site of the study`,
      });
    else if (!seesSite(principal, site.id))
      throw problems.forbidden(`This token cannot enrol at ${site.id}.`);
    if (!definition.study.arms.some((a) => a.id === body.arm)) {
      errors.push({
        pointer: "/arm",
        code: "unknown-arm",
        message: `${body.arm} is not an arm of the study`,
      });
    }
    if (body.subjectId !== undefined && !matchesPattern(definition.study.subjectIdPattern, body.subjectId)) {
      errors.push({
        pointer: "/subjectId",
        code: "pattern",
        message: `must match ${definition.study.subjectIdPattern}`,
      });
    }
    if (!site || errors.length > 0)
      throw problems.invalid("The subject cannot be enrolled as given.", errors);
    const result = await c.var.store.enrolSubject({
      study,
      site: site.id,
      siteCode: site.code,
      arm: body.arm,
      id: body.subjectId,
      actor: principal.user,
    });
    if (result.kind === "exists") throw problems.subjectExists(body.subjectId ?? "");
    c.header("Location", `/api/v1/studies/${study}/subjects/${result.subject.id}`);
    return c.json(publicSubject(result.subject), 201);
  },
);

subjectRoutes.openapi(
  createRoute({
    method: "get",
    path: "/studies/{study}/subjects",
    tags: ["Subjects"],
    summary: "Subjects of the caller's sites",
    request: { params: StudyParams },
    responses: {
      200: {
        description: "Subjects",
        content: { "application/json": { schema: z.object({ subjects: z.array(Subject) }) } },
      },
      ...problemResponses([401, 404]),
    },
  }),
  async (c) => {
    const { study } = c.req.valid("param");
    const definition = await loadStudy(c, study);
    const sites = sitesOf(
      c.var.principal,
      definition.study.sites.map((s) => s.id),
    );
    const subjects = await c.var.store.listSubjects(study, sites);
    return c.json({ subjects: subjects.map(publicSubject) }, 200);
  },
);

subjectRoutes.openapi(
  createRoute({
    method: "get",
    path: "/studies/{study}/subjects/{subject}",
    tags: ["Subjects"],
    summary: "The casebook: every form instance with status, revision and protocol deviations",
    request: { params: SubjectParams },
    responses: {
      200: { description: "Casebook", content: { "application/json": { schema: Casebook } } },
      ...problemResponses([401, 404]),
    },
  }),
  async (c) => {
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
  },
);
