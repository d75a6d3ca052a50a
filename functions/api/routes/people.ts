import { createRoute, z } from "@hono/zod-openapi";
import { grantRoles, listPeopleAt, revokeRoles } from "../../http/people.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy } from "../../http/resolve.ts";
import { ROLES } from "../../store/principal.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

/** People and their roles at the study, for admins; every grant, change and revocation is kept. */
export const peopleRoutes = createRouter();

const RoleGrant = z
  .object({
    role: z.enum(ROLES as [string, ...string[]]),
    sites: z.array(z.string()).min(1).openapi({ description: 'Site ids, or ["*"] for all' }),
  })
  .strict();

const GrantBody = z
  .object({
    roles: z.array(RoleGrant).min(1).max(20),
    deidentified: z.boolean().default(false).openapi({ description: "Exports are always de-identified" }),
  })
  .strict()
  .openapi("GrantRoles");

const GrantChange = z.object({
  at: z.string(),
  by: z.string(),
  action: z.enum(["grant", "change", "revoke"]),
  roles: z.array(RoleGrant),
  deidentified: z.boolean(),
});

const PersonWithGrant = z
  .object({
    id: z.string(),
    label: z.string(),
    issuer: z.string(),
    sub: z.string(),
    name: z.string().optional(),
    email: z.string().optional(),
    firstSeenAt: z.string(),
    lastSignInAt: z.string().optional(),
    grant: z
      .object({
        roles: z.array(RoleGrant),
        deidentified: z.boolean(),
        grantedAt: z.string(),
        grantedBy: z.string(),
        revokedAt: z.string().optional(),
        revokedBy: z.string().optional(),
        history: z.array(GrantChange),
      })
      .optional(),
  })
  .openapi("PersonWithGrant");

const PersonParams = StudyParams.extend({ person: z.string().regex(/^[0-9a-f]{24}$/) });
const roleGrants = (roles: z.infer<typeof RoleGrant>[]) =>
  roles.map((g) => ({ role: g.role as (typeof ROLES)[number], sites: g.sites }));

peopleRoutes.openapi(
  createRoute({
    method: "get",
    middleware: [permitted("manage-users")] as const,
    path: "/studies/{study}/people",
    operationId: "listPeople",
    tags: ["People"],
    summary: "Everyone who has signed in, with their roles at this study (revoked grants included)",
    request: { params: StudyParams },
    responses: {
      200: {
        description: "People",
        content: { "application/json": { schema: z.object({ people: z.array(PersonWithGrant) }) } },
      },
      ...problemResponses([401, 403, 404]),
    },
  }),
  async (c) => {
    const definition = await loadStudy(c, c.req.valid("param").study);
    return c.json({ people: await listPeopleAt(c, definition) }, 200);
  },
);

peopleRoutes.openapi(
  createRoute({
    method: "put",
    middleware: [permitted("manage-users")] as const,
    path: "/studies/{study}/people/{person}/grant",
    operationId: "grantRoles",
    tags: ["People"],
    summary: "Grant roles at sites of this study, replacing what the person held here",
    request: {
      params: PersonParams,
      body: { required: true, content: { "application/json": { schema: GrantBody } } },
    },
    responses: {
      200: { description: "Granted", content: { "application/json": { schema: PersonWithGrant } } },
      ...problemResponses([400, 401, 403, 404, 415, 422]),
    },
  }),
  async (c) => {
    const { study, person } = c.req.valid("param");
    const body = c.req.valid("json");
    const definition = await loadStudy(c, study);
    return c.json(
      await grantRoles(c, definition, person, {
        roles: roleGrants(body.roles),
        deidentified: body.deidentified,
      }),
      200,
    );
  },
);

peopleRoutes.openapi(
  createRoute({
    method: "delete",
    middleware: [permitted("manage-users")] as const,
    path: "/studies/{study}/people/{person}/grant",
    operationId: "revokeRoles",
    tags: ["People"],
    summary: "Revoke every role of the person at this study (the grant stays, with who revoked it and when)",
    request: { params: PersonParams },
    responses: { 204: { description: "Revoked" }, ...problemResponses([400, 401, 403, 404]) },
  }),
  async (c) => {
    const { study, person } = c.req.valid("param");
    await revokeRoles(c, await loadStudy(c, study), person);
    return c.body(null, 204);
  },
);
