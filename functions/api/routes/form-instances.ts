import { createRoute, type RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/context.ts";
import { instanceView } from "../../http/instance-view.ts";
import { permitted } from "../../http/permissions.ts";
import { type InstancePath as Params, resolveInstance as resolve } from "../../http/resolve.ts";
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

/**
 * The saves are answered by form-instance-saves.ts without zod (a cold start's
 * first save); they are described here, where their schemas are, in the order
 * they were registered when this module answered them.
 */
const saveFormInstanceRoute = createRoute({
  method: "put",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}",
  tags: ["Form instances"],
  operationId: "saveFormInstance",
  summary: "Save a form at a visit (instance 1): validated, audited, optimistic on `rev`",
  request: { params: FormParams, body: saveBody },
  responses: saveResponses,
});

formInstanceRoutes.openAPIRegistry.registerPath(saveFormInstanceRoute);

const saveRepeatingInstanceRoute = createRoute({
  method: "put",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}",
  tags: ["Form instances"],
  operationId: "saveRepeatingInstance",
  summary: "Save one numbered instance of a repeating form",
  request: { params: InstanceParams, body: saveBody },
  responses: saveResponses,
});

formInstanceRoutes.openAPIRegistry.registerPath(saveRepeatingInstanceRoute);
