import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { QueryTransition } from "../../engine/queries.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { actOnQuery, raiseQuery, siteQueryList, subjectQueries } from "../../http/queries.ts";
import { createRouter } from "../router.ts";
import { problemResponses, SaveBody, StudyParams, SubjectParams } from "../schemas.ts";

export const queryRoutes = createRouter();

const QueryTarget = z
  .object({
    event: z.string().max(200).optional(),
    form: z.string().max(200).optional(),
    instance: z.number().int().min(1).optional(),
    field: z.string().max(200).optional(),
  })
  .strict()
  .openapi("QueryTarget", {
    description:
      "What the query is about: {} the subject, {event} a visit, {event, form, instance?} a form instance (instance 1 unless given), {…, field} one field",
  });

const Assignee = z
  .object({ role: z.string().max(64).optional(), person: z.string().max(320).optional() })
  .strict()
  .openapi("QueryAssignee");

const Correction = z
  .object({
    event: z.string(),
    form: z.string(),
    instance: z.number().int(),
    rev: z.number().int(),
    hash: z.string().optional(),
  })
  .openapi("QueryCorrection");

const QueryMessage = z
  .object({
    action: z.enum(["query-open", "query-answer", "query-close", "query-reopen"]),
    by: z.string(),
    person: z.string().optional(),
    at: z.string(),
    text: z.string().optional(),
    correction: Correction.optional().openapi({ description: "The revision saved with this answer" }),
  })
  .openapi("QueryMessage");

const Query = z
  .object({
    id: z.string().openapi({ example: "q_k3v9x2m4pa" }),
    study: z.string(),
    subject: z.string(),
    site: z.string().optional(),
    target: QueryTarget,
    scope: z.enum(["study", "subject", "visit", "form", "field"]),
    state: z.enum(["open", "answered", "closed"]),
    assignee: Assignee.optional(),
    rule: z.string().optional().openapi({ description: "The soft check that opened it automatically" }),
    openedAt: z.string(),
    openedBy: z.string(),
    closedAt: z.string().optional(),
    updatedAt: z.string(),
    messages: z.array(QueryMessage),
  })
  .openapi("Query");

const RaiseQueryBody = z
  .object({ target: QueryTarget, text: z.string().trim().min(1).max(4000), assignee: Assignee.optional() })
  .strict()
  .openapi("RaiseQuery");

const QueryActionBody = z
  .object({
    text: z.string().max(4000).optional().openapi({ description: "Required to answer and to reopen" }),
    save: SaveBody.optional().openapi({
      description:
        "Answer only: a save of the query's form instance, made first through the ordinary save; the answer records the revision it made. A refused save appends nothing.",
    }),
  })
  .strict()
  .openapi("QueryAction");

const QueryParams = SubjectParams.extend({ query: z.string().max(160).openapi({ example: "q_k3v9x2m4pa" }) });

const QueryListQuery = z.object({
  site: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "One of the caller's sites (all when absent)" }),
  state: z.enum(["open", "answered", "closed"]).optional(),
  form: z.string().max(200).optional(),
  assignee: z.string().max(320).optional().openapi({ description: "A role or a person id" }),
  minAgeDays: z.coerce.number().min(0).max(100_000).optional().openapi({ description: "Days since opening" }),
});

const QueryStats = z
  .object({
    open: z.number().int(),
    answered: z.number().int(),
    closed: z.number().int(),
    medianAgeDays: z.number().nullable(),
    p90AgeDays: z.number().nullable(),
  })
  .openapi("QueryStats", { description: "Over the listed queries; ages of those not closed, in days" });

const raiseQueryRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects/{subject}/queries",
  tags: ["Queries"],
  operationId: "raiseQuery",
  middleware: [permitted("raise-query")],
  summary: "Raise a query on a field, form, visit or the subject: audited in the subject's review log",
  request: {
    params: SubjectParams,
    body: { required: true, content: { "application/json": { schema: RaiseQueryBody } } },
  },
  responses: {
    201: { description: "Opened", content: { "application/json": { schema: Query } } },
    ...problemResponses([400, 401, 403, 404, 413, 415, 422]),
  },
});

const raise: RouteHandler<typeof raiseQueryRoute, AppEnv> = async (c) => {
  const p = c.req.valid("param");
  const query = await raiseQuery(c, p, c.req.valid("json"));
  c.header("Location", `/api/v1/studies/${p.study}/subjects/${p.subject}/queries/${query.id}`);
  return c.json(query, 201);
};

queryRoutes.openapi(raiseQueryRoute, raise);

const listSubjectQueriesRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}/queries",
  tags: ["Queries"],
  operationId: "listSubjectQueries",
  middleware: [permitted("read-identified")],
  summary: "A subject's queries with their messages, in order of opening",
  request: { params: SubjectParams },
  responses: {
    200: {
      description: "Queries",
      content: { "application/json": { schema: z.object({ queries: z.array(Query) }) } },
    },
    ...problemResponses([401, 403, 404]),
  },
});

const listSubject: RouteHandler<typeof listSubjectQueriesRoute, AppEnv> = async (c) =>
  c.json({ queries: await subjectQueries(c, c.req.valid("param")) }, 200);

queryRoutes.openapi(listSubjectQueriesRoute, listSubject);

const SUMMARY: Record<QueryTransition, string> = {
  answer: "Answer an open query (sites), optionally saving a correction of its form in the same step",
  close: "Close an open or answered query (monitors, data managers)",
  reopen: "Reopen a closed or answered query, saying why (monitors, data managers)",
};

function transitionRoute(transition: QueryTransition) {
  return createRoute({
    method: "post",
    path: `/studies/{study}/subjects/{subject}/queries/{query}/${transition}`,
    tags: ["Queries"],
    operationId: `${transition}Query`,
    middleware: [permitted(transition === "answer" ? "answer-query" : "close-query")],
    summary: SUMMARY[transition],
    request: {
      params: QueryParams,
      body: { required: true, content: { "application/json": { schema: QueryActionBody } } },
    },
    responses: {
      200: {
        description: "The query after the transition",
        content: { "application/json": { schema: Query } },
      },
      ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422]),
    },
  });
}

function transitionHandler(
  transition: QueryTransition,
): RouteHandler<ReturnType<typeof transitionRoute>, AppEnv> {
  return async function act(c) {
    return c.json(await actOnQuery(c, c.req.valid("param"), transition, c.req.valid("json")), 200);
  };
}

for (const transition of ["answer", "close", "reopen"] as const)
  queryRoutes.openapi(transitionRoute(transition), transitionHandler(transition));

const listSiteQueriesRoute = createRoute({
  method: "get",
  path: "/studies/{study}/queries",
  tags: ["Queries"],
  operationId: "listQueries",
  middleware: [permitted("read-identified")],
  summary:
    "Queries of the caller's sites, filtered, with age statistics (open count, median and 90th percentile)",
  request: { params: StudyParams, query: QueryListQuery },
  responses: {
    200: {
      description: "Queries and their statistics",
      content: {
        "application/json": {
          schema: z.object({
            queries: z.array(Query.extend({ ageDays: z.number() })),
            stats: QueryStats,
          }),
        },
      },
    },
    ...problemResponses([400, 401, 403, 404]),
  },
});

const listSite: RouteHandler<typeof listSiteQueriesRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  const { queries, stats } = await siteQueryList(c, study, c.req.valid("query"));
  return c.json({ queries, stats }, 200);
};

queryRoutes.openapi(listSiteQueriesRoute, listSite);
