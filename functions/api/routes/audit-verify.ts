import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import { permitted, seesSite } from "../../http/permissions.ts";
import { loadStudy } from "../../http/resolve.ts";
import { countsOfSites, siteOfFinding } from "../../store/verify-audit.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

/** The tamper-evidence check of a study's whole audit record, on demand. */
export const auditVerifyRoutes = createRouter();

const Kind = z
  .enum(["edited", "replaced", "inserted", "reordered", "head-forged", "deleted", "truncated", "forged"])
  .openapi({ description: "What no longer holds (functions/engine/audit-chain.ts, ChainFinding)" });

const InstanceChain = z.object({
  study: z.string(),
  subject: z.string(),
  site: z.string(),
  event: z.string(),
  form: z.string(),
  instance: z.number().int(),
});

const ReviewChain = z
  .union([
    z.object({ review: z.literal("subject"), study: z.string(), subject: z.string(), site: z.string() }),
    z.object({ review: z.literal("study"), study: z.string() }),
  ])
  .openapi({
    description:
      "A review log (queries, verification, locks, signatures, status): a subject's or the study's",
  });

const AuditFinding = z
  .union([
    z.object({ chain: InstanceChain, rev: z.number().int(), kind: Kind, message: z.string() }),
    z.object({ chain: z.literal("access-log"), seq: z.number().int(), kind: Kind, message: z.string() }),
    z.object({ chain: ReviewChain, seq: z.number().int(), kind: Kind, message: z.string() }),
  ])
  .openapi("AuditFinding");

const AuditVerification = z
  .object({
    study: z.string(),
    key: z
      .string()
      .openapi({ description: "The MAC key the entries were checked with (its id, never the key)" }),
    verified: z.boolean().openapi({
      description: "True when the whole study verifies (findings outside the caller's sites are not listed)",
    }),
    findings: z.array(AuditFinding),
    counts: z.object({
      subjects: z.number().int(),
      chains: z.number().int(),
      entries: z.number().int(),
      unchained: z
        .number()
        .int()
        .openapi({ description: "Revisions saved before chaining existed: not sealed, not reported" }),
    }),
  })
  .openapi("AuditVerification");

const verifyAuditTrailRoute = createRoute({
  method: "get",
  path: "/studies/{study}/audit/verify",
  operationId: "verifyAuditTrail",
  middleware: [permitted("verify-audit")],
  tags: ["Audit"],
  summary:
    "Walk every revision chain, review log and the access log: every edited, deleted, inserted or reordered entry, by subject, form and revision",
  request: { params: StudyParams },
  responses: {
    200: {
      description:
        "The verification (findings and counts only of the caller's sites; the access log's and the study review log's to all)",
      content: { "application/json": { schema: AuditVerification } },
    },
    ...problemResponses([401, 403, 404]),
  },
});

const verifyAuditTrail: RouteHandler<typeof verifyAuditTrailRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  await loadStudy(c, study);
  const report = await c.var.store.verifyAudit(study);
  const sees = (site: string) => seesSite(c.var.principal, site, "verify-audit");
  const findings = report.findings.filter((f) => {
    const site = siteOfFinding(f);
    return site === undefined || sees(site);
  });
  const counts = countsOfSites(report, Object.keys(report.bySite).filter(sees));
  const { study: id, key } = report;
  return c.json({ study: id, key, verified: report.findings.length === 0, findings, counts }, 200);
};

auditVerifyRoutes.openapi(verifyAuditTrailRoute, verifyAuditTrail);
