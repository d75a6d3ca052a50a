import type { Context } from "hono";
import type { ErrorMarkAction } from "../engine/entered-in-error.ts";
import type { ErrorMarkResult } from "../store/mark-entered-in-error.ts";
import type { AppEnv } from "./context.ts";
import { instanceView } from "./instance-view.ts";
import { requirePermission } from "./permissions.ts";
import { problems } from "./problems.ts";
import { type InstancePath, resolveInstance } from "./resolve.ts";
import { lockedProblem } from "./save-form.ts";

/** Marks or restores one instance; the web pages call this too, so both answer alike. */
export async function applyErrorMark(
  c: Context<AppEnv>,
  p: InstancePath,
  action: ErrorMarkAction,
  body: { rev: number; reason?: string },
): Promise<ErrorMarkResult> {
  const { definition, subject, address } = await resolveInstance(c, p);
  requirePermission(c.var.principal, "mark-entered-in-error", { study: subject.study, site: subject.site });
  return c.var.store.markEnteredInError({
    definition,
    subject,
    ...address,
    action,
    rev: body.rev,
    reason: body.reason,
    actor: c.var.principal.user,
  });
}

/** The problem for every outcome but success: one wording for API and web. */
export function errorMarkProblem(
  p: InstancePath,
  action: ErrorMarkAction,
  result: ErrorMarkResult,
  rev: number,
) {
  const address = { event: p.event, form: p.form, instance: Number(p.instance) };
  switch (result.kind) {
    case "not-markable":
      return problems.notMarkable(
        `${p.form} at ${p.event} is part of the schedule: correct its values instead (a reason is kept when it is complete).`,
      );
    case "not-saved":
      return problems.notFound(`A saved instance ${p.instance} of ${p.form}`);
    case "reason-required":
      return problems.invalid(
        `Say why ${p.form} #${p.instance} is ${action === "restore" ? "restored" : "entered in error"}.`,
        [{ pointer: "/reason", code: "reason-required", message: "a reason is required" }],
      );
    case "already":
      return action === "restore"
        ? problems.notEnteredInError()
        : problems.enteredInError(`${p.form} #${p.instance} is already marked as entered in error.`);
    case "stale":
      return problems.conflict(
        `Revision ${rev} is not the latest (${result.current?.rev ?? 0}); look at the current state first.`,
        { current: instanceView(address, result.current) },
      );
    case "locked":
      return lockedProblem(result);
    case "marked":
      return undefined;
  }
}
