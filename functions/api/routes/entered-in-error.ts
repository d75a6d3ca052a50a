import { createRoute, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ErrorMarkAction } from "../../engine/entered-in-error.ts";
import type { ErrorMarkResult } from "../../store/mark-entered-in-error.ts";
import { requireRole } from "../auth.ts";
import type { AppEnv } from "../context.ts";
import { problems } from "../problems.ts";
import { createRouter } from "../router.ts";
import { ErrorMarkBody, FormInstance, InstanceParams, problemResponses } from "../schemas.ts";
import { instanceView, type Params, resolve } from "./form-instances.ts";

export const enteredInErrorRoutes = createRouter();

/** Marks or restores one instance; the web pages call this too, so both answer alike. */
export async function applyErrorMark(
  c: Context<AppEnv>,
  p: Params,
  action: ErrorMarkAction,
  body: { rev: number; reason?: string },
): Promise<ErrorMarkResult> {
  const { definition, subject, address } = await resolve(c, p);
  requireRole(
    c.var.principal,
    ["site"],
    action === "restore" ? "restore data" : "mark data as entered in error",
  );
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
export function errorMarkProblem(p: Params, action: ErrorMarkAction, result: ErrorMarkResult, rev: number) {
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
    case "marked":
      return undefined;
  }
}

for (const action of ["entered-in-error", "restore"] as const) {
  enteredInErrorRoutes.openapi(
    createRoute({
      method: "post",
      path: `/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/${action}`,
      tags: ["Form instances"],
      summary:
        action === "restore"
          ? "Restore an instance marked as entered in error (with a reason): audited"
          : "Mark a log instance or an unscheduled visit's form as entered in error (with a reason): audited, reversible, left out of exports by default",
      request: {
        params: InstanceParams,
        body: { required: true, content: { "application/json": { schema: ErrorMarkBody } } },
      },
      responses: {
        200: { description: "The new state", content: { "application/json": { schema: FormInstance } } },
        ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422]),
      },
    }),
    async (c) => {
      const p = c.req.valid("param");
      const body = c.req.valid("json") as z.infer<typeof ErrorMarkBody>;
      const result = await applyErrorMark(c, p, action, body);
      const problem = errorMarkProblem(p, action, result, body.rev);
      if (problem || result.kind !== "marked") throw problem;
      return c.json(
        instanceView({ event: p.event, form: p.form, instance: result.state.instance }, result.state),
        200,
      );
    },
  );
}
