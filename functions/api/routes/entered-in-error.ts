import { createRoute, type RouteHandler, type z } from "@hono/zod-openapi";
import type { ErrorMarkAction } from "../../engine/entered-in-error.ts";
import type { AppEnv } from "../../http/context.ts";
import { applyErrorMark, errorMarkProblem } from "../../http/entered-in-error.ts";
import { instanceView } from "../../http/instance-view.ts";
import { permitted } from "../../http/permissions.ts";
import { createRouter } from "../router.ts";
import { ErrorMarkBody, FormInstance, InstanceParams, problemResponses } from "../schemas.ts";

export const enteredInErrorRoutes = createRouter();

function errorMarkRoute(action: ErrorMarkAction) {
  return createRoute({
    method: "post",
    path: `/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/${action}`,
    operationId: action === "restore" ? "restoreInstance" : "markEnteredInError",
    middleware: [permitted("mark-entered-in-error")],
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
      ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422, 423]),
    },
  });
}

/** Marks (or restores) one instance: the same handler for both, told apart by `action`. */
function markOrRestore(action: ErrorMarkAction): RouteHandler<ReturnType<typeof errorMarkRoute>, AppEnv> {
  return async function markOrRestoreInstance(c) {
    const p = c.req.valid("param");
    const body = c.req.valid("json") as z.infer<typeof ErrorMarkBody>;
    const result = await applyErrorMark(c, p, action, body);
    const problem = errorMarkProblem(p, action, result, body.rev);
    if (problem || result.kind !== "marked") throw problem;
    return c.json(
      instanceView({ event: p.event, form: p.form, instance: result.state.instance }, result.state),
      200,
    );
  };
}

for (const action of ["entered-in-error", "restore"] as const) {
  enteredInErrorRoutes.openapi(errorMarkRoute(action), markOrRestore(action));
}
