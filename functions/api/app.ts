import type { Context } from "hono";
import { compress } from "hono/compress";
import { HTTPException } from "hono/http-exception";
import type { Store } from "../store/store.ts";
import { webErrorPage } from "../web/error-page.tsx";
import { createWebRoutes } from "../web/routes.tsx";
import { SCRIPTS } from "../web/scripts.generated.ts";
import { requireToken } from "./auth.ts";
import { BODY_LIMITS, limitBodies } from "./body-limits.ts";
import { logUnexpected, ProblemError, problems } from "./problems.ts";
import { createRouter } from "./router.ts";
import { auditRoutes } from "./routes/audit.ts";
import { definitionRoutes } from "./routes/definitions.ts";
import { enteredInErrorRoutes } from "./routes/entered-in-error.ts";
import { exportRoutes } from "./routes/exports.ts";
import { formInstanceRoutes } from "./routes/form-instances.ts";
import { redcapRoutes } from "./routes/redcap.ts";
import { studyRoutes } from "./routes/studies.ts";
import { subjectRoutes } from "./routes/subjects.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { securityHeaders } from "./security-headers.ts";

export const MAX_BODY_BYTES = BODY_LIMITS.default;

function problemResponse(c: Context, problem: ProblemError): Response {
  return c.body(JSON.stringify(problem.toJSON(c.req.path)), problem.status, {
    "Content-Type": "application/problem+json",
  });
}

export interface AppOptions {
  /** Signs browser session cookies; from configuration in AWS, generated and kept locally. */
  sessionSecret: string;
  /** Commits younger than this are left for the next pull of the change feed. Default 60 s. */
  feedSettleMs?: number;
}

/** The HTTP API and the site pages, the same in Lambda, the local server and the tests (`app.request()`). */
export function createApp(store: Store, options: AppOptions) {
  const app = createRouter();

  app.use("*", securityHeaders);
  app.use("*", async (c, next) => {
    c.set("store", store);
    c.set("feedSettleMs", options.feedSettleMs ?? 60_000);
    await next();
  });
  // Sites are often on slow connections: the form script is ~310 KB raw, ~95 KB gzipped.
  app.use("*", compress());
  app.use("*", limitBodies);
  app.use("/api/v1/studies/*", requireToken);
  app.use("/api/v1/studies/*", async (c, next) => {
    const type = c.req.header("content-type");
    if (
      ["POST", "PUT", "PATCH"].includes(c.req.method) &&
      !/^application\/([\w.-]+\+)?json\b/i.test(type ?? "")
    ) {
      throw problems.unsupportedMediaType();
    }
    await next();
  });

  const api = createRouter();
  api.route("/", studyRoutes);
  api.route("/", subjectRoutes);
  api.route("/", formInstanceRoutes);
  api.route("/", enteredInErrorRoutes);
  api.route("/", auditRoutes);
  api.route("/", definitionRoutes);
  api.route("/", exportRoutes);
  api.route("/", tokenRoutes);
  api.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  api.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "EDC engine API",
      version: "1",
      description:
        "Errors are application/problem+json (RFC 9457); field errors carry JSON pointers into the form data.",
    },
    security: [{ bearer: [] }],
  });
  app.route("/api/v1", api);
  app.route("/", redcapRoutes);
  app.route("/", createWebRoutes({ sessionSecret: options.sessionSecret, scripts: SCRIPTS }));

  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? problemResponse(c, problems.notFound(`${c.req.method} ${c.req.path}`))
      : c.html(
          '<!doctype html><title>Not found</title><p>This page does not exist. <a href="/">Home</a></p>',
          404,
        ),
  );
  app.onError((error, c) => {
    // Errors thrown before a page route runs (e.g. the body limit) still answer as a page.
    if (!c.req.path.startsWith("/api/")) return webErrorPage(c, error);
    if (error instanceof ProblemError) return problemResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, problems.badRequest(error.message));
    }
    logUnexpected(c.req.path, error);
    return problemResponse(c, problems.internal());
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
