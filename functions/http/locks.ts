import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { activeLocks, decideLock } from "../engine/locks.ts";
import type { ReviewEntry, ReviewTarget } from "../engine/review.ts";
import type { ReviewRequest } from "../store/review-log.ts";
import type { Subject } from "../store/subjects.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission } from "./permissions.ts";
import { problems } from "./problems.ts";
import { checkTarget, type TargetInput, targetWords } from "./review-target.ts";

const reasonRequired = (what: string) =>
  problems.invalid(`Say why ${what} is unlocked.`, [
    { pointer: "/reason", code: "reason-required", message: "a reason is required" },
  ]);

async function decideAndAppend(
  c: Context<AppEnv>,
  scope: { study: string; subject?: Subject },
  target: ReviewTarget,
  action: "lock" | "unlock",
  reason: string | undefined,
): Promise<ReviewEntry> {
  const { principal, store } = c.var;
  const { study, subject } = scope;
  const what = subject ? `${targetWords(target)} of ${subject.id}` : `study ${study}`;
  // Decided on the log as it is right before the append: of racing locks (or unlocks) one wins.
  return store.appendDecided({ study, ...(subject ? { subject: subject.id } : {}) }, (log) => {
    const decision = decideLock(activeLocks(log), target, action, reason);
    switch (decision.kind) {
      case "reason-required":
        throw reasonRequired(what);
      case "already-locked":
        throw problems.alreadyLocked(
          `${subject ? `${what} is already locked` : `The study is already frozen`} (by ${decision.lock.by}, ${decision.lock.at}).`,
        );
      case "not-locked":
        throw problems.notLocked(
          `${subject ? `${what} has no lock of its own` : "The study is not frozen"}: nothing to unlock.`,
        );
      case "append":
        return {
          study,
          ...(subject ? { subject: subject.id, site: subject.site } : {}),
          action,
          target,
          by: principal.user,
          ...(principal.person !== undefined ? { person: principal.person } : {}),
          ...(reason?.trim() ? { reason: reason.trim() } : {}),
        } as ReviewRequest;
    }
  });
}

/** Locks or unlocks a form instance, a visit or the subject's casebook: for the API and the pages alike. */
export async function lockSubjectTarget(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  subject: Subject,
  input: TargetInput,
  action: "lock" | "unlock",
  reason?: string,
): Promise<ReviewEntry> {
  requirePermission(c.var.principal, "lock", { study: subject.study, site: subject.site });
  if (input.field !== undefined)
    throw problems.invalid("Locks hold a form instance, a visit or the subject, not one field.", [
      { pointer: "/target/field", code: "invalid-target", message: "a field cannot be locked on its own" },
    ]);
  const target = checkTarget(definition, subject, input);
  return decideAndAppend(c, { study: subject.study, subject }, target, action, reason);
}

/**
 * Freezes or unfreezes the whole study (the study chain's lock and unlock):
 * it holds every site, so it needs the lock permission at every site.
 */
export async function freezeStudy(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  action: "lock" | "unlock",
  reason?: string,
): Promise<ReviewEntry> {
  const study = definition.study.id;
  for (const site of definition.study.sites)
    requirePermission(c.var.principal, "lock", { study, site: site.id });
  return decideAndAppend(c, { study }, {}, action, reason);
}
