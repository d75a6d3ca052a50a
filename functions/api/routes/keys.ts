import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy } from "../../http/resolve.ts";
import * as tokens from "../../http/tokens.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";
import { KeyFields, KeyInfo, Scope } from "./tokens.ts";

/** A person's own API keys: within the roles and sites they hold, always expiring, shown once. */
export const keyRoutes = createRouter();

const CreateKey = z
  .object({
    scope: Scope.optional().openapi({ description: "Default: every role and site you hold" }),
    ...KeyFields,
  })
  .strict()
  .openapi("CreateKey");

const createKeyRoute = createRoute({
  method: "post",
  path: "/studies/{study}/keys",
  operationId: "createKey",
  middleware: [permitted("manage-own-keys")],
  tags: ["Keys"],
  summary: "Create a key of your own; its value is shown only in this answer",
  request: {
    params: StudyParams,
    body: { required: true, content: { "application/json": { schema: CreateKey } } },
  },
  responses: {
    201: {
      description: "Created",
      content: { "application/json": { schema: KeyInfo.extend({ token: z.string() }) } },
    },
    ...problemResponses([400, 401, 403, 404, 422]),
  },
});

const createKey: RouteHandler<typeof createKeyRoute, AppEnv> = async (c) => {
  const definition = await loadStudy(c, c.req.valid("param").study);
  return c.json(await tokens.createOwnKey(c, definition, c.req.valid("json")), 201);
};

keyRoutes.openapi(createKeyRoute, createKey);

const listKeysRoute = createRoute({
  method: "get",
  path: "/studies/{study}/keys",
  operationId: "listKeys",
  middleware: [permitted("manage-own-keys")],
  tags: ["Keys"],
  summary: "Your keys at the study (never their values), revoked ones included",
  request: { params: StudyParams },
  responses: {
    200: {
      description: "Keys",
      content: { "application/json": { schema: z.object({ keys: z.array(KeyInfo) }) } },
    },
    ...problemResponses([401, 403, 404]),
  },
});

const listKeys: RouteHandler<typeof listKeysRoute, AppEnv> = async (c) => {
  const definition = await loadStudy(c, c.req.valid("param").study);
  return c.json({ keys: await tokens.listOwnKeys(c, definition) }, 200);
};

keyRoutes.openapi(listKeysRoute, listKeys);

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/studies/{study}/keys/{id}",
  operationId: "revokeKey",
  middleware: [permitted("manage-own-keys")],
  tags: ["Keys"],
  summary: "Revoke one of your keys (it stays listed, with when)",
  request: { params: StudyParams.extend({ id: z.string() }) },
  responses: { 204: { description: "Revoked" }, ...problemResponses([401, 403, 404]) },
});

const revokeKey: RouteHandler<typeof revokeKeyRoute, AppEnv> = async (c) => {
  const { study, id } = c.req.valid("param");
  await tokens.revokeOwnKey(c, await loadStudy(c, study), id);
  return c.body(null, 204);
};

keyRoutes.openapi(revokeKeyRoute, revokeKey);
