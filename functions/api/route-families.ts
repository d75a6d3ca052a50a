import type { Handler, Hono, MiddlewareHandler } from "hono";
import { once } from "../engine/once.ts";
import type { AppEnv } from "../http/context.ts";
import { openApiRouter } from "./openapi-router.ts";

type Method = "GET" | "POST" | "PUT" | "DELETE";

/**
 * A module of /api/v1 routes and the operations it answers. The operations
 * are written out here so the API can route to a family without importing it:
 * its zod schemas and their OpenAPI registration are loaded by the family's
 * first request, not at a cold start (docs/architecture.md, "Cold start").
 * tests/unit/api-route-families.test.ts checks them against the module.
 */
export interface RouteFamily {
  module: string;
  load: () => Promise<Hono<AppEnv>>;
  operations: readonly (readonly [Method, string])[];
  /**
   * A plain Hono router whose module imports neither zod nor the route schemas
   * (its operations are described for the OpenAPI document by another family):
   * loaded without @hono/zod-openapi.
   */
  plain?: true;
}

const S = "/studies/:study";
const SUBJECT = `${S}/subjects/:subject`;
const FORM = `${SUBJECT}/events/:event/forms/:form`;
const INSTANCE = `${FORM}/instances/:instance`;

/** In the order they were mounted: where two families' paths overlap, the first registered answers. */
export const ROUTE_FAMILIES: readonly RouteFamily[] = [
  {
    module: "create-study",
    load: async () => (await import("./routes/create-study.ts")).createStudyRoutes,
    operations: [["POST", "/studies"]],
  },
  {
    module: "studies",
    load: async () => (await import("./routes/studies.ts")).studyRoutes,
    operations: [["GET", S]],
  },
  {
    module: "subjects",
    load: async () => (await import("./routes/subjects.ts")).subjectRoutes,
    operations: [
      ["POST", `${S}/subjects`],
      ["GET", `${S}/subjects`],
      ["GET", SUBJECT],
    ],
  },
  {
    module: "subject-status",
    load: async () => (await import("./routes/subject-status.ts")).subjectStatusRoutes,
    operations: [
      ["POST", `${SUBJECT}/status`],
      ["GET", `${SUBJECT}/status`],
    ],
  },
  {
    module: "signatures",
    load: async () => (await import("./routes/signatures.ts")).signatureRoutes,
    operations: [["GET", `${SUBJECT}/signatures`]],
  },
  {
    module: "form-instances",
    load: async () => (await import("./routes/form-instances.ts")).formInstanceRoutes,
    operations: [
      ["GET", FORM],
      ["GET", INSTANCE],
    ],
  },
  {
    // A save, what a cold start serves most, validates its body without zod; form-instances.ts describes it.
    module: "form-instance-saves",
    load: async () => (await import("./routes/form-instance-saves.ts")).formInstanceSaveRoutes,
    operations: [
      ["PUT", FORM],
      ["PUT", INSTANCE],
    ],
    plain: true,
  },
  {
    module: "files",
    load: async () => (await import("./routes/files.ts")).fileRoutes,
    operations: [
      ["POST", `${INSTANCE}/files/:field`],
      ["GET", `${SUBJECT}/files/:sha256`],
      ["POST", `${INSTANCE}/files/:field/uploads`],
      ["POST", `${INSTANCE}/files/:field/uploads/:uploadId`],
      ["PUT", "/uploads/:uploadId"],
      ["GET", `${S}/files`],
    ],
  },
  {
    module: "entered-in-error",
    load: async () => (await import("./routes/entered-in-error.ts")).enteredInErrorRoutes,
    operations: [
      ["POST", `${INSTANCE}/entered-in-error`],
      ["POST", `${INSTANCE}/restore`],
    ],
  },
  {
    module: "locks-and-verification",
    load: async () => (await import("./routes/locks-and-verification.ts")).lockAndVerificationRoutes,
    operations: [
      ["POST", `${SUBJECT}/verifications`],
      ["POST", `${SUBJECT}/locks`],
      ["POST", `${SUBJECT}/unlock`],
      ["POST", `${S}/freeze`],
      ["POST", `${S}/unfreeze`],
      ["GET", `${SUBJECT}/review-state`],
    ],
  },
  {
    module: "audit",
    load: async () => (await import("./routes/audit.ts")).auditRoutes,
    operations: [["GET", `${SUBJECT}/audit`]],
  },
  {
    module: "audit-verify",
    load: async () => (await import("./routes/audit-verify.ts")).auditVerifyRoutes,
    operations: [["GET", `${S}/audit/verify`]],
  },
  {
    module: "access-log",
    load: async () => (await import("./routes/access-log.ts")).accessLogRoutes,
    operations: [["GET", `${S}/access-log`]],
  },
  {
    module: "definitions",
    load: async () => (await import("./routes/definitions.ts")).definitionRoutes,
    operations: [
      ["GET", `${S}/definitions`],
      ["GET", `${S}/definitions/:version`],
      ["POST", `${S}/definitions/impact`],
      ["POST", `${S}/definitions`],
    ],
  },
  {
    module: "exports",
    load: async () => (await import("./routes/exports.ts")).exportRoutes,
    operations: [
      ["GET", `${S}/records`],
      ["GET", `${S}/changes`],
      ["GET", `${S}/metadata/:kind`],
      ["GET", `${S}/odm`],
    ],
  },
  {
    module: "tokens",
    load: async () => (await import("./routes/tokens.ts")).tokenRoutes,
    operations: [
      ["POST", `${S}/tokens`],
      ["GET", `${S}/tokens`],
      ["DELETE", `${S}/tokens/:id`],
    ],
  },
  {
    module: "keys",
    load: async () => (await import("./routes/keys.ts")).keyRoutes,
    operations: [
      ["POST", `${S}/keys`],
      ["GET", `${S}/keys`],
      ["DELETE", `${S}/keys/:id`],
    ],
  },
  {
    module: "people",
    load: async () => (await import("./routes/people.ts")).peopleRoutes,
    operations: [
      ["GET", `${S}/people`],
      ["PUT", `${S}/people/:person/grant`],
      ["DELETE", `${S}/people/:person/grant`],
    ],
  },
  {
    module: "queries",
    load: async () => (await import("./routes/queries.ts")).queryRoutes,
    operations: [
      ["POST", `${SUBJECT}/queries`],
      ["GET", `${SUBJECT}/queries`],
      ["POST", `${SUBJECT}/queries/:query/answer`],
      ["POST", `${SUBJECT}/queries/:query/close`],
      ["POST", `${SUBJECT}/queries/:query/reopen`],
      ["GET", `${S}/queries`],
    ],
  },
  {
    module: "record-imports",
    load: async () => (await import("./routes/record-imports.ts")).recordImportRoutes,
    operations: [
      ["POST", `${S}/record-imports`],
      ["GET", `${S}/record-imports/:job`],
      ["GET", `${S}/record-imports`],
    ],
  },
  {
    module: "export-jobs",
    load: async () => (await import("./routes/export-jobs.ts")).exportJobRoutes,
    operations: [
      ["POST", `${S}/exports`],
      ["GET", `${S}/exports/:job`],
      ["GET", `${S}/exports`],
    ],
  },
  {
    module: "export-schedules",
    load: async () => (await import("./routes/export-schedules.ts")).exportScheduleRoutes,
    operations: [
      ["PUT", `${S}/export-schedules/:name`],
      ["GET", `${S}/export-schedules/:name`],
      ["GET", `${S}/export-schedules`],
      ["DELETE", `${S}/export-schedules/:name`],
    ],
  },
];

/**
 * Runs a family's handlers for one operation (its validators, then its handler)
 * as Hono would have had the family been mounted: the outer route has the same
 * path, so `c.req.param()` and `c.req.valid()` see what they would have.
 */
function runHandlers(handlers: readonly Handler<AppEnv>[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const dispatch = async (i: number): Promise<void> => {
      const handler = handlers[i];
      if (!handler) return next();
      const res = await handler(c, () => dispatch(i + 1));
      if (res instanceof Response && !c.finalized) c.res = res;
    };
    await dispatch(0);
  };
}

/** A family's router, imported after @hono/zod-openapi has extended zod (when it uses zod). */
export async function loadFamily(family: RouteFamily): Promise<Hono<AppEnv>> {
  if (!family.plain) await openApiRouter();
  return family.load();
}

/** Registers every family's operations on `api`, each importing its family on first use. */
export function mountLazily(api: Hono<AppEnv>, families: readonly RouteFamily[]): void {
  for (const family of families) {
    const load = once(async () => {
      const router = await loadFamily(family);
      const byOperation = new Map<string, Handler<AppEnv>[]>();
      for (const r of router.routes) {
        const key = `${r.method} ${r.path}`;
        byOperation.set(key, [...(byOperation.get(key) ?? []), r.handler as Handler<AppEnv>]);
      }
      return byOperation;
    });
    for (const [method, path] of family.operations) {
      api.on(method, path, async (c, next) => {
        const handlers = (await load()).get(`${method} ${path}`);
        if (!handlers) throw new Error(`${family.module} does not answer ${method} ${path}`);
        return runHandlers(handlers)(c, next);
      });
    }
  }
}
