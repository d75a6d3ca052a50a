import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { personLabel } from "../store/people.ts";
import { ALL_SITES, actingPerson, type Principal, type RoleGrant, withinGrants } from "../store/principal.ts";
import { type KeyFormat, type KeyKind, MAX_KEY_DAYS, newToken, type TokenInfo } from "../store/tokens.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission } from "./permissions.ts";
import { type FieldProblem, problems } from "./problems.ts";
import { requestSource } from "./request-source.ts";

/**
 * API keys: a person's own (`/keys`, `/account/keys`), and service keys an
 * admin makes for a named owner (`/tokens`, the admin's key page). Either way
 * the scope is within the owner's grant when made, and is cut down to the
 * owner's grant again at every use (store/tokens.ts). Only hashes are kept;
 * the value is shown once, to its maker. Creation and revocation are logged.
 */

export interface KeyRequest {
  /** Roles and sites the key may use; a person's own key defaults to all they hold. */
  scope?: RoleGrant[];
  /** Keys always expire, within a year. */
  expiresAt: string;
  format?: KeyFormat;
  /** Exports with the key are always de-identified; stored as given, absent when not given. */
  deidentified?: boolean;
}

export interface ServiceKeyRequest extends KeyRequest {
  /** The service account's name (shown in audit and lists). */
  user: string;
  /** The person answerable for the key: their id or email. They must hold the key's roles. */
  owner: string;
  scope: RoleGrant[];
}

/** A key as its owner or an admin sees it: never its hash (what would find it) nor the study. */
export type KeyListing = Omit<TokenInfo, "study">;

const listed = ({ hash: _hash, study: _study, ...t }: TokenInfo & { hash: string }): KeyListing => t;

function requestErrors(
  definition: StudyDefinition,
  principal: Principal,
  request: KeyRequest & { scope: RoleGrant[] },
  now: Date,
): FieldProblem[] {
  const known = definition.study.sites.map((s) => s.id);
  const errors: FieldProblem[] = request.scope.flatMap((grant, g) =>
    grant.sites
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => s !== ALL_SITES && !known.includes(s))
      .map(({ s, i }) => ({
        pointer: `/scope/${g}/sites/${i}`,
        code: "unknown-site",
        message: `${s} is not a site of the study`,
      })),
  );
  if (request.scope.length === 0)
    errors.push({ pointer: "/scope", code: "empty", message: "must name at least one role" });
  const latest = new Date(now.getTime() + MAX_KEY_DAYS * 86_400_000).toISOString();
  if (request.expiresAt <= now.toISOString()) {
    errors.push({ pointer: "/expiresAt", code: "past", message: "must be in the future" });
  } else if (request.expiresAt > latest) {
    errors.push({ pointer: "/expiresAt", code: "too-late", message: `must be within ${MAX_KEY_DAYS} days` });
  } else if (principal.key && principal.expiresAt && request.expiresAt > principal.expiresAt) {
    // Else a leaked key could keep itself alive by making its successors.
    errors.push({
      pointer: "/expiresAt",
      code: "outlives-maker",
      message: "must not be after the expiry of the key this request is made with",
    });
  }
  return errors;
}

async function issueKey(
  c: Context<AppEnv>,
  key: { user: string; owner: string; kind: KeyKind; study: string; scope: RoleGrant[] },
  request: KeyRequest,
): Promise<KeyListing & { token: string }> {
  const format = request.format ?? "edc";
  const token = newToken(format);
  const principal = c.var.principal;
  // A key made by a de-identified principal is de-identified too, whatever the request says.
  const deidentified = principal.deidentified ? true : request.deidentified;
  const info = await c.var.store.storeToken(
    token,
    {
      ...key,
      expiresAt: request.expiresAt,
      format,
      ...(deidentified !== undefined ? { deidentified } : {}),
    },
    principal.user,
  );
  await c.var.store.appendAccessLog(key.study, {
    actor: principal.user,
    action: "key-create",
    details: {
      key: info.id,
      owner: key.owner,
      kind: key.kind,
      user: key.user,
      scope: key.scope,
      expiresAt: request.expiresAt,
      format,
      deidentified: deidentified === true,
    },
    ...requestSource(c),
  });
  const { study: _study, ...shown } = info;
  return { ...shown, token };
}

async function revokeKey(c: Context<AppEnv>, study: string, key: KeyListing): Promise<void> {
  const principal = c.var.principal;
  const revoked = await c.var.store.revokeToken(study, key.id, principal.user);
  // Revoked already (before, or by a racing request that logs it): nothing more to record.
  if (!revoked?.revokedNow) return;
  await c.var.store.appendAccessLog(study, {
    actor: principal.user,
    action: "key-revoke",
    details: {
      key: key.id,
      ...(key.owner ? { owner: key.owner } : {}),
      ...(key.kind ? { kind: key.kind } : {}),
    },
    ...requestSource(c),
  });
}

/** The person the request acts for, who owns the keys it makes; 403 for a principal without one. */
function ownerOf(principal: Principal): string {
  const person = actingPerson(principal);
  if (!person) throw problems.forbidden("Only a person can hold API keys.");
  return person;
}

/** A key of the caller's own, within what the caller holds now; 422 when it cannot be made as asked. */
export async function createOwnKey(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  request: KeyRequest,
): Promise<KeyListing & { token: string }> {
  const principal = c.var.principal;
  requirePermission(principal, "manage-own-keys", { study: definition.study.id });
  const owner = ownerOf(principal);
  const scope = request.scope ?? principal.roles;
  const errors = requestErrors(definition, principal, { ...request, scope }, new Date());
  if (!withinGrants(scope, principal.roles))
    errors.push({ pointer: "/scope", code: "not-held", message: "must be roles and sites you hold" });
  if (errors.length > 0) throw problems.invalid("The key cannot be created as asked.", errors);
  return issueKey(
    c,
    { user: principal.user, owner, kind: "personal", study: definition.study.id, scope },
    request,
  );
}

/** The caller's keys at the study, revoked ones included. */
export async function listOwnKeys(c: Context<AppEnv>, definition: StudyDefinition): Promise<KeyListing[]> {
  requirePermission(c.var.principal, "manage-own-keys", { study: definition.study.id });
  const owner = ownerOf(c.var.principal);
  return (await c.var.store.listTokens(definition.study.id)).filter((t) => t.owner === owner).map(listed);
}

/** Revokes one of the caller's keys; another's key is not found. */
export async function revokeOwnKey(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  id: string,
): Promise<void> {
  const key = (await listOwnKeys(c, definition)).find((t) => t.id === id);
  if (!key) throw problems.notFound(`Key ${id}`);
  await revokeKey(c, definition.study.id, key);
}

/** A service account's key, owned by a person who holds its roles; admins only. */
export async function createToken(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  request: ServiceKeyRequest,
): Promise<KeyListing & { token: string }> {
  requirePermission(c.var.principal, "manage-tokens", { study: definition.study.id });
  const errors = requestErrors(definition, c.var.principal, request, new Date());
  if (request.user === "") errors.push({ pointer: "/user", code: "empty", message: "must name the service" });
  const owner = request.owner ? await c.var.store.findPersonByHandle(request.owner) : undefined;
  const grant = owner && (await c.var.store.findGrant(definition.study.id, owner.id));
  if (!owner) {
    errors.push({
      pointer: "/owner",
      code: "unknown-person",
      message: "must be the id or email of a person",
    });
  } else if (!withinGrants(request.scope, grant && !grant.revokedAt ? grant.roles : [])) {
    errors.push({
      pointer: "/owner",
      code: "not-held",
      message: `${personLabel(owner)} does not hold these roles at these sites`,
    });
  }
  if (errors.length > 0 || !owner) throw problems.invalid("The key cannot be created as asked.", errors);
  return issueKey(
    c,
    {
      user: request.user,
      owner: owner.id,
      kind: "service",
      study: definition.study.id,
      scope: request.scope,
    },
    request,
  );
}

/** Every key of the study, personal and service, revoked ones included. */
export async function listTokens(c: Context<AppEnv>, definition: StudyDefinition): Promise<KeyListing[]> {
  requirePermission(c.var.principal, "manage-tokens", { study: definition.study.id });
  return (await c.var.store.listTokens(definition.study.id)).map(listed);
}

/** Revokes any key of the study by its id; it stays listed, with who revoked it and when. */
export async function revokeToken(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  id: string,
): Promise<void> {
  const key = (await listTokens(c, definition)).find((t) => t.id === id);
  if (!key) throw problems.notFound(`Token ${id}`);
  await revokeKey(c, definition.study.id, key);
}
