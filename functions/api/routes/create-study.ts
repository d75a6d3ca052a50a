import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { SLUG_PATTERN } from "../../engine/meta/study-schema.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { ProblemError, problems } from "../../http/problems.ts";
import { actingPerson } from "../../store/principal.ts";
import { FOUNDER_ROLES } from "../../store/studies.ts";
import { newToken } from "../../store/tokens.ts";
import { createRouter } from "../router.ts";
import { problemResponses } from "../schemas.ts";

export const createStudyRoutes = createRouter();

/** The key handed to the creator is short-lived: it is for setting the study up, not for daily work. */
const FOUNDER_KEY_DAYS = 30;

const CreateStudyBody = z
  .object({
    id: z.string().max(64).regex(new RegExp(SLUG_PATTERN)).openapi({ example: "second-study" }),
    title: z.string().min(1).max(200).optional(),
  })
  .strict()
  .openapi("CreateStudy");

const CreatedStudy = z
  .object({
    id: z.string(),
    title: z.string().optional(),
    createdAt: z.string(),
    createdBy: z.string(),
    roles: z.array(z.object({ role: z.string(), sites: z.array(z.string()) })),
    key: z
      .object({ token: z.string(), expiresAt: z.string() })
      .openapi({ description: "A key at the new study for its creator, shown once" }),
  })
  .openapi("CreatedStudy");

const createStudyRoute = createRoute({
  method: "post",
  path: "/studies",
  operationId: "createStudy",
  middleware: [permitted("create-study")],
  tags: ["Studies"],
  summary:
    "Create a study on this deployment: its creator is granted admin and builder at it, and given a key there to publish its definition and grant its people",
  request: { body: { required: true, content: { "application/json": { schema: CreateStudyBody } } } },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: CreatedStudy } } },
    ...problemResponses([400, 401, 403, 409, 413, 415, 422]),
  },
});

const createStudy: RouteHandler<typeof createStudyRoute, AppEnv> = async (c) => {
  const { id, title } = c.req.valid("json");
  const principal = c.var.principal;
  const owner = actingPerson(principal);
  if (!owner) throw problems.forbidden("Only a person, or a person's key, can create a study.");
  const outcome = await c.var.store.createStudy({
    id,
    ...(title ? { title } : {}),
    owner,
    by: principal.user,
  });
  if (outcome.kind === "exists")
    throw new ProblemError(409, "study-exists", "The study exists", `Study ${id} exists already.`);
  const latest = Date.now() + FOUNDER_KEY_DAYS * 86_400_000;
  const expiresAt = new Date(
    principal.expiresAt ? Math.min(latest, Date.parse(principal.expiresAt)) : latest,
  ).toISOString();
  const token = newToken();
  await c.var.store.storeToken(
    token,
    { user: principal.user, owner, kind: "personal", study: id, scope: FOUNDER_ROLES, expiresAt },
    principal.user,
  );
  return c.json({ ...outcome.study, roles: FOUNDER_ROLES, key: { token, expiresAt } }, 201);
};

createStudyRoutes.openapi(createStudyRoute, createStudy);
