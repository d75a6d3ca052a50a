import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { readAccessLogPage } from "../../http/access-log.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy } from "../../http/resolve.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

/** Who signed in, exported, granted and published: the study's access log, oldest first. */
export const accessLogRoutes = createRouter();

const AccessLogQuery = z.object({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .openapi({ description: "The `next` of the previous page; absent for the first" }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  action: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: "Only this action (sign-in, export-records, grant…)" }),
  person: z.string().max(320).optional().openapi({ description: "Only this actor label or person id" }),
});

const AccessLogEntry = z
  .object({
    seq: z.number().int(),
    at: z.string().openapi({ description: "Server time" }),
    actor: z.string().openapi({ description: "The principal's label, or what a failed sign-in claimed" }),
    person: z.string().optional().openapi({ description: "The person's id, when a person acted" }),
    action: z.string(),
    details: z.record(z.string(), z.unknown()),
    ip: z.string().optional(),
    userAgent: z.string().optional(),
    previousHash: z.string(),
    hash: z.string(),
  })
  .openapi("AccessLogEntry");

const readAccessLogRoute = createRoute({
  method: "get",
  path: "/studies/{study}/access-log",
  operationId: "readAccessLog",
  middleware: [permitted("read-access-log")],
  tags: ["Audit"],
  summary:
    "The study's access log (sign-ins, sign-outs, exports, change-feed pulls, grants, publishes), oldest first, a page at a time",
  request: { params: StudyParams, query: AccessLogQuery },
  responses: {
    200: {
      description: "A page of entries; `next` is absent on the last page",
      content: {
        "application/json": {
          schema: z.object({ entries: z.array(AccessLogEntry), next: z.number().int().optional() }),
        },
      },
    },
    ...problemResponses([400, 401, 403, 404]),
  },
});

const readAccessLog: RouteHandler<typeof readAccessLogRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const q = c.req.valid("query");
  const definition = await loadStudy(c, study);
  return c.json(await readAccessLogPage(c, definition, q), 200);
};

accessLogRoutes.openapi(readAccessLogRoute, readAccessLog);
