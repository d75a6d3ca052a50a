import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy } from "../../http/resolve.ts";
import * as tokens from "../../http/tokens.ts";
import { ROLES } from "../../store/principal.ts";
import { KEY_FORMATS, MAX_KEY_DAYS } from "../../store/tokens.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

/** Service keys: made by admins for a service account with a named owning person; only hashes are kept. */
export const tokenRoutes = createRouter();

export const Scope = z
  .array(
    z
      .object({
        role: z.enum(ROLES),
        sites: z.array(z.string()).min(1).openapi({ description: 'Site ids, or ["*"] for all' }),
      })
      .strict(),
  )
  .min(1)
  .openapi("KeyScope", {
    description: "Roles and sites the key may use; at every use, cut down to what its owner holds then",
  });

/** What every key request carries, personal or service. */
export const KeyFields = {
  expiresAt: z.iso
    .datetime()
    .openapi({ description: `Required: keys always expire, within ${MAX_KEY_DAYS} days` }),
  format: z.enum(KEY_FORMATS).default("edc").openapi({
    description:
      "`edc`: an `edc_…` key; `redcap`: 32 upper-case hexadecimal characters, as REDCap clients expect",
  }),
  deidentified: z
    .boolean()
    .optional()
    .openapi({ description: "Exports with this key are always de-identified" }),
};

const CreateToken = z
  .object({
    user: z
      .string()
      .min(1)
      .max(200)
      .openapi({ description: "The service account the key is for (shown in audit and lists)" }),
    owner: z
      .string()
      .min(1)
      .max(320)
      .openapi({ description: "Id or email of the person answerable for the key; they must hold its roles" }),
    scope: Scope,
    ...KeyFields,
  })
  .strict()
  .openapi("CreateToken");

export const KeyInfo = z
  .object({
    id: z.string(),
    user: z.string(),
    owner: z.string().optional().openapi({ description: "Person id; absent on keys made before owners" }),
    kind: z.enum(["personal", "service"]).optional(),
    scope: z.array(z.object({ role: z.string(), sites: z.array(z.string()) })),
    expiresAt: z.string().optional(),
    format: z.enum(KEY_FORMATS).optional(),
    deidentified: z.boolean().optional(),
    createdAt: z.string(),
    createdBy: z.string().optional(),
    revokedAt: z.string().optional(),
    revokedBy: z.string().optional(),
    lastUsedOn: z.string().optional().openapi({ description: "Last day (UTC) the key was used" }),
  })
  .openapi("KeyInfo");

const createTokenRoute = createRoute({
  method: "post",
  path: "/studies/{study}/tokens",
  operationId: "createToken",
  middleware: [permitted("manage-tokens")],
  tags: ["Tokens"],
  summary: "Create a service key with a named owner; its value is shown only in this answer",
  request: {
    params: StudyParams,
    body: { required: true, content: { "application/json": { schema: CreateToken } } },
  },
  responses: {
    201: {
      description: "Created",
      content: { "application/json": { schema: KeyInfo.extend({ token: z.string() }) } },
    },
    ...problemResponses([400, 401, 403, 404, 422]),
  },
});

const createToken: RouteHandler<typeof createTokenRoute, AppEnv> = async (c) => {
  const definition = await loadStudy(c, c.req.valid("param").study);
  return c.json(await tokens.createToken(c, definition, c.req.valid("json")), 201);
};

tokenRoutes.openapi(createTokenRoute, createToken);

const listTokensRoute = createRoute({
  method: "get",
  path: "/studies/{study}/tokens",
  operationId: "listTokens",
  middleware: [permitted("manage-tokens")],
  tags: ["Tokens"],
  summary: "Every key of the study, personal and service (never their values), revoked ones included",
  request: { params: StudyParams },
  responses: {
    200: {
      description: "Keys",
      content: { "application/json": { schema: z.object({ tokens: z.array(KeyInfo) }) } },
    },
    ...problemResponses([401, 403, 404]),
  },
});

const listTokens: RouteHandler<typeof listTokensRoute, AppEnv> = async (c) => {
  const definition = await loadStudy(c, c.req.valid("param").study);
  return c.json({ tokens: await tokens.listTokens(c, definition) }, 200);
};

tokenRoutes.openapi(listTokensRoute, listTokens);

const revokeTokenRoute = createRoute({
  method: "delete",
  path: "/studies/{study}/tokens/{id}",
  operationId: "revokeToken",
  middleware: [permitted("manage-tokens")],
  tags: ["Tokens"],
  summary: "Revoke anyone's key (it stays listed, with who revoked it and when)",
  request: { params: StudyParams.extend({ id: z.string() }) },
  responses: { 204: { description: "Revoked" }, ...problemResponses([401, 403, 404]) },
});

const revokeToken: RouteHandler<typeof revokeTokenRoute, AppEnv> = async (c) => {
  const { study, id } = c.req.valid("param");
  await tokens.revokeToken(c, await loadStudy(c, study), id);
  return c.body(null, 204);
};

tokenRoutes.openapi(revokeTokenRoute, revokeToken);
