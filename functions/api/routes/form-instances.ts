import { createRoute, type RouteHandler, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/context.ts";
import { instanceView } from "../../http/instance-view.ts";
import { permitted } from "../../http/permissions.ts";
import { type InstancePath as Params, resolveInstance as resolve } from "../../http/resolve.ts";
import { saveForm, saveProblem } from "../../http/save-form.ts";
import type { Revision } from "../../store/form-instances.ts";
import { createRouter } from "../router.ts";
import {
  FormInstance,
  FormParams,
  InstanceParams,
  problemResponses,
  SaveBody,
  SaveResult,
} from "../schemas.ts";

export const formInstanceRoutes = createRouter();

async function readInstance(c: Context<AppEnv>, p: Params) {
  const { subject, address } = await resolve(c, p);
  const state = await c.var.store.readLatestRevision({
    study: subject.study,
    subject: subject.id,
    ...address,
  });
  return instanceView(address, state);
}

async function saveInstance(c: Context<AppEnv>, p: Params, body: z.infer<typeof SaveBody>) {
  const result = await saveForm(c, p, body);
  const address = { event: p.event, form: p.form, instance: Number(p.instance) };
  switch (result.kind) {
    case "unchanged":
      return {
        ...instanceView(address, result.state as Revision),
        changes: [],
        deviations: result.deviations,
      };
    case "saved":
      return {
        ...instanceView(address, result.state),
        changes: result.changes,
        deviations: result.deviations,
      };
    default:
      throw saveProblem(p, result, body.rev);
  }
}

const saveResponses = {
  200: { description: "Saved (or unchanged)", content: { "application/json": { schema: SaveResult } } },
  ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422, 423]),
};
const readResponses = {
  200: {
    description: "Current state (rev 0 when not started)",
    content: { "application/json": { schema: FormInstance } },
  },
  ...problemResponses([401, 404]),
};
const saveBody = { required: true, content: { "application/json": { schema: SaveBody } } };

const readFormInstanceRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}",
  tags: ["Form instances"],
  operationId: "readFormInstance",
  middleware: [permitted("read-identified")],
  summary: "A form at a visit (instance 1)",
  request: { params: FormParams },
  responses: readResponses,
});

const readFormInstance: RouteHandler<typeof readFormInstanceRoute, AppEnv> = async (c) =>
  c.json(await readInstance(c, { ...c.req.valid("param"), instance: "1" }), 200);

formInstanceRoutes.openapi(readFormInstanceRoute, readFormInstance);

const readRepeatingInstanceRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}",
  tags: ["Form instances"],
  operationId: "readRepeatingInstance",
  middleware: [permitted("read-identified")],
  summary: "One numbered instance of a repeating form",
  request: { params: InstanceParams },
  responses: readResponses,
});

const readRepeatingInstance: RouteHandler<typeof readRepeatingInstanceRoute, AppEnv> = async (c) =>
  c.json(await readInstance(c, c.req.valid("param")), 200);

formInstanceRoutes.openapi(readRepeatingInstanceRoute, readRepeatingInstance);

const saveFormInstanceRoute = createRoute({
  method: "put",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}",
  tags: ["Form instances"],
  operationId: "saveFormInstance",
  middleware: [permitted("enter-data")],
  summary: "Save a form at a visit (instance 1): validated, audited, optimistic on `rev`",
  request: { params: FormParams, body: saveBody },
  responses: saveResponses,
});

const saveFormInstance: RouteHandler<typeof saveFormInstanceRoute, AppEnv> = async (c) =>
  c.json(await saveInstance(c, { ...c.req.valid("param"), instance: "1" }, c.req.valid("json")), 200);

formInstanceRoutes.openapi(saveFormInstanceRoute, saveFormInstance);

const saveRepeatingInstanceRoute = createRoute({
  method: "put",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}",
  tags: ["Form instances"],
  operationId: "saveRepeatingInstance",
  middleware: [permitted("enter-data")],
  summary: "Save one numbered instance of a repeating form",
  request: { params: InstanceParams, body: saveBody },
  responses: saveResponses,
});

const saveRepeatingInstance: RouteHandler<typeof saveRepeatingInstanceRoute, AppEnv> = async (c) =>
  c.json(await saveInstance(c, c.req.valid("param"), c.req.valid("json")), 200);

formInstanceRoutes.openapi(saveRepeatingInstanceRoute, saveRepeatingInstance);
