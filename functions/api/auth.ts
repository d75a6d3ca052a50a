import { createMiddleware } from "hono/factory";
import type { Principal, Role } from "../store/tokens.ts";
import { ALL_SITES } from "../store/tokens.ts";
import type { AppEnv } from "./context.ts";
import { admitPrincipal } from "./deidentified-access.ts";
import { problems } from "./problems.ts";

/** Resolves the bearer token to a principal; every /api/v1 route but the OpenAPI document needs one. */
export const requireToken = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const principal = match?.[1] ? await c.var.store.findToken(match[1]) : undefined;
  if (!principal) {
    c.header("WWW-Authenticate", 'Bearer realm="edc"');
    throw problems.unauthenticated();
  }
  admitPrincipal(c, principal);
  await next();
});

export function seesSite(principal: Principal, site: string): boolean {
  return principal.sites.includes(ALL_SITES) || principal.sites.includes(site);
}

export function sitesOf(principal: Principal, allSites: string[]): string[] {
  return principal.sites.includes(ALL_SITES) ? allSites : allSites.filter((s) => principal.sites.includes(s));
}

export function requireRole(principal: Principal, roles: Role[], action: string): void {
  if (!roles.includes(principal.role))
    throw problems.forbidden(`A ${principal.role} token cannot ${action}.`);
}
