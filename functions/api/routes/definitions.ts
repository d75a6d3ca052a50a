import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { type FieldProblem, ProblemError, problems } from "../../http/problems.ts";
import { loadHostedStudy, loadStudy } from "../../http/resolve.ts";
import { PublishPlan } from "../../publish-plan.ts";
import type { PublishOutcome } from "../../store/publish.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams } from "../schemas.ts";

export const definitionRoutes = createRouter();

const DefinitionBody = z
  .object({
    study: z.record(z.string(), z.unknown()).openapi({ description: "The study file (forms/study.json)" }),
    instruments: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .openapi({ description: "Instrument id → JSON Schema (forms/instruments/<id>.json)" }),
  })
  .strict();

const PublishBody = PublishPlan.extend({
  definition: DefinitionBody,
  reason: z.string().max(2000).optional(),
})
  .strict()
  .openapi("PublishDefinition");

const ImpactReport = z
  .object({
    fromVersion: z.number().int().nullable(),
    summary: z.object({ safe: z.number(), review: z.number(), destructive: z.number() }),
    changes: z.array(
      z.object({
        id: z.string(),
        severity: z.enum(["safe", "review", "destructive"]),
        kind: z.string(),
        instrument: z.string().optional(),
        field: z.string().optional(),
        event: z.string().optional(),
        message: z.string(),
        affected: z.number().optional(),
      }),
    ),
  })
  .openapi("ImpactReport");

const PublishAnswer = z
  .object({
    outcome: z.enum(["published", "unchanged", "analysed", "refused"]),
    version: z.number().int().optional(),
    migrated: z.number().int().optional(),
    report: ImpactReport,
    unaccepted: z.array(z.string()).optional(),
  })
  .openapi("PublishOutcome");

/** A definition sent in a body, checked exactly like forms/ on disk; errors point into the body. */
export async function checkBody(
  body: z.infer<typeof DefinitionBody>,
  study: string,
): Promise<StudyDefinition> {
  // The definition checker (and its JSON Schemas) is imported by the first publish, not at a cold start.
  const { checkDefinition } = await import("../../engine/check-definition.ts");
  const result = checkDefinition({
    study: { path: "study.json", json: body.study },
    instruments: Object.entries(body.instruments).map(([id, json]) => ({
      path: `instruments/${id}.json`,
      json,
    })),
  });
  const errors: FieldProblem[] = result.errors.map((e) => ({
    pointer:
      e.file === "study.json"
        ? `/definition/study${e.pointer}`
        : `/definition/instruments/${e.file.replace(/^instruments\//, "").replace(/\.json$/, "")}${e.pointer}`,
    code: "definition",
    message: e.message,
  }));
  if (result.definition && result.definition.study.id !== study) {
    errors.push({ pointer: "/definition/study/id", code: "study-mismatch", message: `must be ${study}` });
  }
  if (!result.definition || errors.length > 0) {
    throw problems.invalid(`The definition has ${errors.length} error(s).`, errors);
  }
  return result.definition;
}

function answer(outcome: PublishOutcome): z.infer<typeof PublishAnswer> {
  return {
    outcome: outcome.kind,
    report: outcome.report,
    ...(outcome.kind === "published" ? { version: outcome.version, migrated: outcome.migrated } : {}),
    ...(outcome.kind === "unchanged" ? { version: outcome.version } : {}),
    ...(outcome.kind === "refused" || outcome.kind === "analysed"
      ? { unaccepted: outcome.unaccepted.map((c) => c.id) }
      : {}),
  };
}

async function publish(
  c: Context<AppEnv>,
  study: string,
  body: z.infer<typeof PublishBody>,
  dryRun: boolean,
) {
  await loadHostedStudy(c, study);
  const definition = await checkBody(body.definition, study);
  return c.var.store.publish({
    definition,
    actor: c.var.principal.user,
    reason: body.reason,
    migration: body.migration,
    accept: body.accept,
    dryRun,
  });
}

const listDefinitionsRoute = createRoute({
  method: "get",
  path: "/studies/{study}/definitions",
  operationId: "listDefinitions",
  middleware: [permitted("read-deidentified")],
  tags: ["Definitions"],
  summary:
    "Published definition versions, newest first, with who published each, why, its impact and any acceptance",
  request: { params: StudyParams },
  responses: {
    200: {
      description: "Versions",
      content: {
        "application/json": { schema: z.object({ versions: z.array(z.record(z.string(), z.unknown())) }) },
      },
    },
    ...problemResponses([401, 404]),
  },
});

const listDefinitions: RouteHandler<typeof listDefinitionsRoute, AppEnv> = async (c) => {
  const { study } = c.req.valid("param");
  await loadStudy(c, study);
  return c.json({ versions: await c.var.store.listDefinitions(study) }, 200);
};

definitionRoutes.openapi(listDefinitionsRoute, listDefinitions);

const getDefinitionRoute = createRoute({
  method: "get",
  path: "/studies/{study}/definitions/{version}",
  operationId: "getDefinition",
  middleware: [permitted("read-deidentified")],
  tags: ["Definitions"],
  summary: "One published definition version",
  request: { params: StudyParams.extend({ version: z.string() }) },
  responses: {
    200: {
      description: "Definition",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
    ...problemResponses([401, 404]),
  },
});

const getDefinition: RouteHandler<typeof getDefinitionRoute, AppEnv> = async (c) => {
  const { study, version } = c.req.valid("param");
  await loadStudy(c, study);
  const definition = /^[1-9]\d{0,5}$/.test(version)
    ? await c.var.store.definitions.version(study, Number(version))
    : undefined;
  if (!definition) throw problems.notFound(`Version ${version}`);
  return c.json(definition as unknown as Record<string, unknown>, 200);
};

definitionRoutes.openapi(getDefinitionRoute, getDefinition);

const analyseImpactRoute = createRoute({
  method: "post",
  path: "/studies/{study}/definitions/impact",
  operationId: "analyseImpact",
  middleware: [permitted("publish")],
  tags: ["Definitions"],
  summary:
    "What publishing this definition would do to the current version and the stored data (nothing is written)",
  request: {
    params: StudyParams,
    body: { required: true, content: { "application/json": { schema: PublishBody } } },
  },
  responses: {
    200: { description: "Impact report", content: { "application/json": { schema: PublishAnswer } } },
    ...problemResponses([400, 401, 403, 404, 413, 415, 422]),
  },
});

const analyseImpact: RouteHandler<typeof analyseImpactRoute, AppEnv> = async (c) =>
  c.json(answer(await publish(c, c.req.valid("param").study, c.req.valid("json"), true)), 200);

definitionRoutes.openapi(analyseImpactRoute, analyseImpact);

const publishDefinitionRoute = createRoute({
  method: "post",
  path: "/studies/{study}/definitions",
  operationId: "publishDefinition",
  middleware: [permitted("publish")],
  tags: ["Definitions"],
  summary:
    "Publish a new definition version. Refused (409) while a destructive change is neither migrated nor accepted with a reason",
  request: {
    params: StudyParams,
    body: { required: true, content: { "application/json": { schema: PublishBody } } },
  },
  responses: {
    201: { description: "Published", content: { "application/json": { schema: PublishAnswer } } },
    200: {
      description: "Identical to the current version: nothing published",
      content: { "application/json": { schema: PublishAnswer } },
    },
    ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422]),
  },
});

const publishDefinition: RouteHandler<typeof publishDefinitionRoute, AppEnv> = async (c) => {
  const outcome = await publish(c, c.req.valid("param").study, c.req.valid("json"), false);
  if (outcome.kind === "refused") {
    throw new ProblemError(
      409,
      "destructive-change",
      "Destructive change not migrated or accepted",
      `${outcome.unaccepted.length} destructive change(s) would orphan or recode collected data: supply a migration or accept them by id with a reason.`,
      answer(outcome),
    );
  }
  return c.json(answer(outcome), outcome.kind === "published" ? 201 : 200);
};

definitionRoutes.openapi(publishDefinitionRoute, publishDefinition);
