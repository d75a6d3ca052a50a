import { createRoute, z } from "@hono/zod-openapi";
import { requirePermission } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { ALL_SITES, newToken } from "../../store/tokens.ts";
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
    role: z.enum(["sponsor", "monitor"]).default("sponsor"),
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

tokenRoutes.openapi(
  createRoute({
    method: "post",
    path: "/studies/{study}/tokens",
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
  }),
  async (c) => {
    const { study } = c.req.valid("param");
    const definition = await loadStudy(c, study);
    requirePermission(c.var.principal, "manage-tokens");
    const body = c.req.valid("json");
    const known = definition.study.sites.map((s) => s.id);
    const errors = body.sites
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => s !== ALL_SITES && !known.includes(s))
      .map(({ s, i }) => ({
        pointer: `/sites/${i}`,
        code: "unknown-site",
        message: `${s} is not a site of the study`,
      }));
    if (body.expiresAt <= new Date().toISOString()) {
      errors.push({ pointer: "/expiresAt", code: "past", message: "must be in the future" });
    }
    if (errors.length > 0) throw problems.invalid("The token cannot be created as asked.", errors);
    const token = newToken();
    const info = await c.var.store.storeToken(
      token,
      {
        user: body.user,
        role: body.role,
        study,
        sites: body.sites,
        expiresAt: body.expiresAt,
        deidentified: body.deidentified,
      },
      c.var.principal.user,
    );
    return c.json({ ...info, token }, 201);
  },
);

tokenRoutes.openapi(
  createRoute({
    method: "get",
    path: "/studies/{study}/tokens",
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
  }),
  async (c) => {
    const { study } = c.req.valid("param");
    await loadStudy(c, study);
    requirePermission(c.var.principal, "manage-tokens");
    const tokens = (await c.var.store.listTokens(study)).map(({ hash: _hash, study: _s, ...t }) => t);
    return c.json({ tokens }, 200);
  },
);

tokenRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/studies/{study}/tokens/{id}",
    tags: ["Tokens"],
    summary: "Revoke a token (it stays listed, with who revoked it and when)",
    request: { params: StudyParams.extend({ id: z.string() }) },
    responses: { 204: { description: "Revoked" }, ...problemResponses([401, 403, 404]) },
  }),
  async (c) => {
    const { study, id } = c.req.valid("param");
    await loadStudy(c, study);
    requirePermission(c.var.principal, "manage-tokens");
    if (!(await c.var.store.revokeToken(study, id, c.var.principal.user)))
      throw problems.notFound(`Token ${id}`);
    return c.body(null, 204);
  },
);
