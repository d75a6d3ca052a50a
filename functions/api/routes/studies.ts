import { createRoute, type RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy } from "../../http/resolve.ts";
import { createRouter } from "../router.ts";
import { problemResponses, Study, StudyParams } from "../schemas.ts";

export const studyRoutes = createRouter();

const getStudyRoute = createRoute({
  method: "get",
  path: "/studies/{study}",
  operationId: "getStudy",
  middleware: [permitted("read-deidentified")],
  tags: ["Studies"],
  summary: "The study's current published definition: arms, sites, events with windows, instruments",
  request: { params: StudyParams },
  responses: {
    200: { description: "Current definition", content: { "application/json": { schema: Study } } },
    ...problemResponses([401, 404]),
  },
});

const getStudy: RouteHandler<typeof getStudyRoute, AppEnv> = async (c) => {
  const definition = await loadStudy(c, c.req.valid("param").study);
  const { study, instruments, version } = definition;
  return c.json(
    {
      ...study,
      version,
      events: study.events.map((e) => ({ ...e })),
      instruments: instruments as unknown as Record<string, Record<string, unknown>>,
    },
    200,
  );
};

studyRoutes.openapi(getStudyRoute, getStudy);
