import type { Context } from "hono";
import type { SubjectStatus } from "../engine/review.ts";
import {
  currentStatus,
  decideStatusChange,
  type StatusChange,
  type StatusRecord,
  statusHistory,
} from "../engine/subject-status.ts";
import type { Subject } from "../store/subjects.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission } from "./permissions.ts";
import { problems } from "./problems.ts";

/** A subject's status now and every change before it, from its review log. */
export async function readSubjectStatus(
  c: Context<AppEnv>,
  subject: Subject,
): Promise<{ current: StatusRecord; history: StatusRecord[] }> {
  const entries = await c.var.store.readReviewLog(subject.study, subject.id);
  return { current: currentStatus(entries), history: statusHistory(entries) };
}

/**
 * Records a status change (API and pages alike): the caller's role at the
 * subject's site, then the transition rules of engine/subject-status.ts.
 * Refusals are problems: 422 naming the fields, 409 for a transition the
 * subject cannot make from where it is.
 */
export async function changeSubjectStatus(
  c: Context<AppEnv>,
  subject: Subject,
  change: StatusChange,
  today: string,
): Promise<StatusRecord> {
  const { principal } = c.var;
  requirePermission(principal, "change-subject-status", { study: subject.study, site: subject.site });
  const reason = change.reason?.trim();
  // Decided on the log as it is right before the append: a racing change makes it decide again.
  const entry = await c.var.store.appendDecided({ study: subject.study, subject: subject.id }, (entries) => {
    const decision = decideStatusChange(currentStatus(entries), change, today);
    if (decision.kind === "invalid")
      throw problems.invalid("The status change is not complete.", decision.errors);
    if (decision.kind === "transition") throw problems.statusTransition(decision.message);
    return {
      action: "subject-status",
      status: change.status as SubjectStatus,
      ...(change.date ? { date: change.date } : {}),
      ...(reason ? { reason } : {}),
      study: subject.study,
      subject: subject.id,
      site: subject.site,
      by: principal.user,
      ...(principal.person ? { person: principal.person } : {}),
      target: {},
    };
  });
  return currentStatus([entry]);
}
