import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { ALL_SITES } from "../store/principal.ts";
import { newToken, type TokenInfo } from "../store/tokens.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission } from "./permissions.ts";
import { type FieldProblem, problems } from "./problems.ts";

/**
 * Read-only API tokens for sponsors and monitors, made, listed and revoked by
 * builders: the one use case behind the API's `/tokens` and the builder's
 * token page. Only hashes are kept; the value is shown once, to its maker.
 */

export const TOKEN_ROLES = ["sponsor", "monitor"] as const;

export interface TokenRequest {
  /** Who the token is for (shown in audit and lists). */
  user: string;
  role: (typeof TOKEN_ROLES)[number];
  /** Site ids, or `["*"]` for all. */
  sites: string[];
  /** Tokens always expire. */
  expiresAt: string;
  /** Exports with the token are always de-identified; stored as given, absent when not given. */
  deidentified?: boolean;
}

function requestErrors(definition: StudyDefinition, request: TokenRequest, now: Date): FieldProblem[] {
  const known = definition.study.sites.map((s) => s.id);
  const errors = request.sites
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => s !== ALL_SITES && !known.includes(s))
    .map(({ s, i }) => ({
      pointer: `/sites/${i}`,
      code: "unknown-site",
      message: `${s} is not a site of the study`,
    }));
  if (request.user === "") errors.push({ pointer: "/user", code: "empty", message: "must name someone" });
  if (request.expiresAt <= now.toISOString()) {
    errors.push({ pointer: "/expiresAt", code: "past", message: "must be in the future" });
  }
  return errors;
}

/** The new token's value and what is kept of it; 422 when the study cannot grant it as asked. */
export async function createToken(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  request: TokenRequest,
): Promise<TokenInfo & { token: string }> {
  requirePermission(c.var.principal, "manage-tokens");
  const errors = requestErrors(definition, request, new Date());
  if (errors.length > 0) throw problems.invalid("The token cannot be created as asked.", errors);
  const token = newToken();
  const info = await c.var.store.storeToken(
    token,
    {
      user: request.user,
      role: request.role,
      study: definition.study.id,
      sites: request.sites,
      expiresAt: request.expiresAt,
      ...(request.deidentified !== undefined ? { deidentified: request.deidentified } : {}),
    },
    c.var.principal.user,
  );
  return { ...info, token };
}

/** The study's tokens, revoked ones included, without their hash (what would find them) or the study. */
export async function listTokens(
  c: Context<AppEnv>,
  definition: StudyDefinition,
): Promise<Omit<TokenInfo, "study">[]> {
  requirePermission(c.var.principal, "manage-tokens");
  return (await c.var.store.listTokens(definition.study.id)).map(({ hash: _hash, study: _study, ...t }) => t);
}

/** Revokes a token by its id; it stays listed, with who revoked it and when. */
export async function revokeToken(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  id: string,
): Promise<void> {
  requirePermission(c.var.principal, "manage-tokens");
  if (!(await c.var.store.revokeToken(definition.study.id, id, c.var.principal.user)))
    throw problems.notFound(`Token ${id}`);
}
