import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context.ts";
import { admitPrincipal } from "./deidentified-access.ts";
import { problems } from "./problems.ts";
import { requestSource } from "./request-source.ts";

/** Resolves the bearer token to a principal; every /api/v1 route but the OpenAPI document needs one. */
export const requireToken = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const found = match?.[1] ? await c.var.store.findToken(match[1], requestSource(c)) : undefined;
  if (!found?.principal) {
    c.header("WWW-Authenticate", 'Bearer realm="edc"');
    throw found?.refused === "predates" ? problems.keyPredates() : problems.unauthenticated();
  }
  admitPrincipal(c, found.principal);
  await next();
});
