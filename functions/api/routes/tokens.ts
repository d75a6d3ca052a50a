import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy } from "../../http/resolve.ts";
import * as tokens from "../../http/tokens.ts";
import { ALL_SITES } from "../../store/principal.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

/** Read-only API tokens for sponsors and monitors, made and revoked by builders; only hashes are kept. */
export const tokenRoutes = createRouter();

const CreateToken = z
  .object({
    user: z
      .string()
      .min(1)
      .max(200)
      .openapi({ description: "Who the token is for (shown in audit and lists)" }),
    role: z.enum(tokens.TOKEN_ROLES).default("sponsor"),
    sites: z
      .array(z.string())
      .min(1)
      .default([ALL_SITES])
      .openapi({ description: 'Site ids, or ["*"] for all' }),
    expiresAt: z.iso.datetime().openapi({ description: "Required: tokens always expire" }),
    deidentified: z
      .boolean()
      .default(false)
      .openapi({ description: "Exports with this token are always de-identified" }),
  })
  .strict()
  .openapi("CreateToken");

const TokenInfo = z
  .object({
    id: z.string(),
    user: z.string(),
    role: z.string(),
    sites: z.array(z.string()),
    expiresAt: z.string().optional(),
    deidentified: z.boolean().optional(),
    createdAt: z.string(),
    createdBy: z.string().optional(),
    revokedAt: z.string().optional(),
    revokedBy: z.string().optional(),
  })
  .openapi("TokenInfo");

const createTokenRoute = createRoute({
  method: "post",
  path: "/studies/{study}/tokens",
  operationId: "createToken",
  middleware: [permitted("manage-tokens")],
  tags: ["Tokens"],
  summary: "Create a read-only, expiring token; its value is shown only in this answer",
  request: {
    params: StudyParams,
    body: { required: true, content: { "application/json": { schema: CreateToken } } },
  },
  responses: {
    201: {
      description: "Created",
      content: { "application/json": { schema: TokenInfo.extend({ token: z.string() }) } },
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
  summary: "Tokens of the study (never their values), revoked ones included",
  request: { params: StudyParams },
  responses: {
    200: {
      description: "Tokens",
      content: { "application/json": { schema: z.object({ tokens: z.array(TokenInfo) }) } },
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
  summary: "Revoke a token (it stays listed, with who revoked it and when)",
  request: { params: StudyParams.extend({ id: z.string() }) },
  responses: { 204: { description: "Revoked" }, ...problemResponses([401, 403, 404]) },
});

const revokeToken: RouteHandler<typeof revokeTokenRoute, AppEnv> = async (c) => {
  const { study, id } = c.req.valid("param");
  await tokens.revokeToken(c, await loadStudy(c, study), id);
  return c.body(null, 204);
};

tokenRoutes.openapi(revokeTokenRoute, revokeToken);
