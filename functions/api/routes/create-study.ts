import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { SLUG_PATTERN } from "../../engine/meta/study-schema.ts";
import type { AppEnv } from "../../http/context.ts";
import { createStudyFor, STUDY_ID_MAX } from "../../http/create-study.ts";
import { permitted } from "../../http/permissions.ts";
import { createRouter } from "../router.ts";
import { problemResponses } from "../schemas.ts";

export const createStudyRoutes = createRouter();

const CreateStudyBody = z
  .object({
    id: z.string().max(STUDY_ID_MAX).regex(new RegExp(SLUG_PATTERN)).openapi({ example: "second-study" }),
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

const createStudy: RouteHandler<typeof createStudyRoute, AppEnv> = async (c) =>
  c.json(await createStudyFor(c, c.req.valid("json")), 201);

createStudyRoutes.openapi(createStudyRoute, createStudy);
