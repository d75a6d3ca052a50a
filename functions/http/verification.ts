import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import type { ReviewEntry } from "../engine/review.ts";
import { verificationCovers } from "../engine/sdv.ts";
import type { Subject } from "../store/subjects.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission } from "./permissions.ts";
import { problems } from "./problems.ts";
import { checkTarget, type TargetInput, targetWords } from "./review-target.ts";

/**
 * Verifies a field, a form instance or a visit against source: one `verify`
 * entry covering each saved instance in scope at its current revision, with
 * a hash of every value vouched for (engine/sdv.ts). For the API and the pages.
 */
export async function verifyTarget(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  subject: Subject,
  input: TargetInput,
): Promise<ReviewEntry> {
  const { principal, store } = c.var;
  requirePermission(principal, "verify", { study: subject.study, site: subject.site });
  const target = checkTarget(definition, subject, input);
  if (target.event === undefined)
    throw problems.invalid("Verify a visit, a form instance or a field, not the whole casebook at once.", [
      { pointer: "/target/event", code: "invalid-target", message: "name the visit" },
    ]);
  const projections = await store.readProjections(subject.study, subject.id);
  const covers = verificationCovers(definition, projections, target);
  if (covers.length === 0)
    throw problems.invalid(`Nothing is saved in ${targetWords(target)} to verify.`, [
      { pointer: "/target", code: "not-saved", message: "nothing saved here yet" },
    ]);
  return store.appendReview({
    study: subject.study,
    subject: subject.id,
    site: subject.site,
    action: "verify",
    covers,
    target,
    by: principal.user,
    ...(principal.person !== undefined ? { person: principal.person } : {}),
  });
}
