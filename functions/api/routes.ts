import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { once } from "../engine/once.ts";
import { requireToken } from "../http/auth.ts";
import type { AppEnv } from "../http/context.ts";
import { problems } from "../http/problems.ts";
import { loadFamily, mountLazily, ROUTE_FAMILIES } from "./route-families.ts";

/**
 * REDCap's API: one POST endpoint. What it does (dictionaries, CSV, record
 * imports, the REDCap logic translator) is imported by its first call, not at
 * a cold start (docs/architecture.md, "Cold start").
 */
export const redcapRoutes = new Hono<AppEnv>();
redcapRoutes.post("/api/", async (c) => (await import("./routes/redcap.ts")).redcapApi(c));

/**
 * The OpenAPI document of every family: the one request that imports them all,
 * built once, as they would have registered mounted together.
 */
const openApiDocument = once(async () => {
  const routers = await Promise.all(ROUTE_FAMILIES.map(loadFamily));
  const { createRouter } = await import("./router.ts");
  const api = createRouter();
  for (const router of routers) api.route("/", router);
  api.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  return api.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "EDC engine API",
      version: "1",
      description:
        "Errors are application/problem+json (RFC 9457); field errors carry JSON pointers into the form data.",
    },
    security: [{ bearer: [] }],
  });
});

/**
 * The JSON API, mounted at /api/v1: bearer tokens, JSON bodies, and its own
 * OpenAPI document. Each family of routes is imported by its first request
 * (route-families.ts); the document, by its own.
 */
export function apiRoutes() {
  const api = new Hono<AppEnv>();
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
  mountLazily(api, ROUTE_FAMILIES);
  api.get("/openapi.json", async (c) => c.json(await openApiDocument()));
  return api;
}
