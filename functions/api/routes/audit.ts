import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { auditTrail } from "../../http/audit-trail.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import { createRouter } from "../router.ts";
import { AuditEntry, problemResponses, SubjectParams } from "../schemas.ts";

export const auditRoutes = createRouter();

const getAuditTrailRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}/audit",
  operationId: "getAuditTrail",
  middleware: [permitted("read-identified")],
  tags: ["Audit"],
  summary: "The subject's audit trail, oldest first: enrolment, then every revision with old → new values",
  request: { params: SubjectParams },
  responses: {
    200: {
      description: "Audit trail",
      content: { "application/json": { schema: z.object({ entries: z.array(AuditEntry) }) } },
    },
    ...problemResponses([401, 404]),
  },
});

const getAuditTrail: RouteHandler<typeof getAuditTrailRoute, AppEnv> = async (c) => {
  const { study, subject: id } = c.req.valid("param");
  await loadStudy(c, study);
  const subject = await loadSubject(c, study, id);
  const { revisions } = await c.var.store.readCasebook(study, id);
  const entries: z.infer<typeof AuditEntry>[] = auditTrail(subject, revisions);
  return c.json({ entries }, 200);
};

auditRoutes.openapi(getAuditTrailRoute, getAuditTrail);
