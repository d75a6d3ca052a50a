import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { requireToken } from "../http/auth.ts";
import type { AppEnv } from "../http/context.ts";
import { problems } from "../http/problems.ts";
import { createRouter } from "./router.ts";
import { accessLogRoutes } from "./routes/access-log.ts";
import { auditRoutes } from "./routes/audit.ts";
import { auditVerifyRoutes } from "./routes/audit-verify.ts";
import { createStudyRoutes } from "./routes/create-study.ts";
import { definitionRoutes } from "./routes/definitions.ts";
import { enteredInErrorRoutes } from "./routes/entered-in-error.ts";
import { exportJobRoutes } from "./routes/export-jobs.ts";
import { exportRoutes } from "./routes/exports.ts";
import { fileRoutes } from "./routes/files.ts";
import { formInstanceRoutes } from "./routes/form-instances.ts";
import { keyRoutes } from "./routes/keys.ts";
import { lockAndVerificationRoutes } from "./routes/locks-and-verification.ts";
import { peopleRoutes } from "./routes/people.ts";
import { queryRoutes } from "./routes/queries.ts";
import { recordImportRoutes } from "./routes/record-imports.ts";
import { signatureRoutes } from "./routes/signatures.ts";
import { studyRoutes } from "./routes/studies.ts";
import { subjectStatusRoutes } from "./routes/subject-status.ts";
import { subjectRoutes } from "./routes/subjects.ts";
import { tokenRoutes } from "./routes/tokens.ts";

/**
 * REDCap's API: one POST endpoint. What it does (dictionaries, CSV, record
 * imports, the REDCap logic translator) is imported by its first call, not at
 * a cold start (docs/architecture.md, "Cold start").
 */
export const redcapRoutes = new Hono<AppEnv>();
redcapRoutes.post("/api/", async (c) => (await import("./routes/redcap.ts")).redcapApi(c));

/** The JSON API, mounted at /api/v1: bearer tokens, JSON bodies, and its own OpenAPI document. */
export function apiRoutes() {
  const api = createRouter();
  api.use("/studies", requireToken);
  api.use("/studies/*", requireToken);
  const jsonOnly = createMiddleware(async (c, next) => {
    const type = c.req.header("content-type");
    if (
      ["POST", "PUT", "PATCH"].includes(c.req.method) &&
      !/^application\/([\w.-]+\+)?json\b/i.test(type ?? "")
    ) {
      throw problems.unsupportedMediaType();
    }
    await next();
  });
  api.use("/studies", jsonOnly);
  api.use("/studies/*", jsonOnly);
  api.route("/", createStudyRoutes);
  api.route("/", studyRoutes);
  api.route("/", subjectRoutes);
  api.route("/", subjectStatusRoutes);
  api.route("/", signatureRoutes);
  api.route("/", formInstanceRoutes);
  api.route("/", fileRoutes);
  api.route("/", enteredInErrorRoutes);
  api.route("/", lockAndVerificationRoutes);
  api.route("/", auditRoutes);
  api.route("/", auditVerifyRoutes);
  api.route("/", accessLogRoutes);
  api.route("/", definitionRoutes);
  api.route("/", exportRoutes);
  api.route("/", tokenRoutes);
  api.route("/", keyRoutes);
  api.route("/", peopleRoutes);
  api.route("/", queryRoutes);
  api.route("/", recordImportRoutes);
  api.route("/", exportJobRoutes);
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
  return api;
}
