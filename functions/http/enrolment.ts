import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { checkEnrolment, type EnrolmentProblem, type EnrolmentRequest } from "../engine/enrolment.ts";
import { activeLocks, lockMessage } from "../engine/locks.ts";
import type { EnrolResult } from "../store/subjects.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission, sitesOf } from "./permissions.ts";
import { problems } from "./problems.ts";

export type EnrolOutcome = EnrolResult | { kind: "refused"; errors: EnrolmentProblem[] };

/**
 * Enrols a subject for the API and the pages alike: the caller's permission,
 * the enrolment rules against the caller's sites, the store's enrolment. A
 * refusal lists every problem; each caller words it its own way (a 403 or 422
 * problem, or the enrol page with its fields marked). A frozen study takes no
 * new subject: 423, like a save.
 */
export async function enrolSubject(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  request: EnrolmentRequest,
): Promise<EnrolOutcome> {
  const { principal } = c.var;
  const { study } = definition;
  requirePermission(principal, "enrol", { study: study.id });
  const callerSites = sitesOf(
    principal,
    study.sites.map((s) => s.id),
    "enrol",
  );
  const { site, errors } = await checkEnrolment(study, request, callerSites);
  if (!site) return { kind: "refused", errors };
  const freeze = activeLocks(await c.var.store.readReviewLog(study.id)).at(-1);
  if (freeze) throw problems.locked(lockMessage({ scope: "study", lock: freeze }));
  return c.var.store.enrolSubject({
    study: study.id,
    site: site.id,
    siteCode: site.code,
    arm: request.arm,
    id: request.subjectId,
    actor: principal.user,
  });
}
