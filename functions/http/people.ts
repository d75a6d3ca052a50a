import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { type Grant, type Person, personLabel } from "../store/people.ts";
import { ALL_SITES, type Principal, type RoleGrant } from "../store/principal.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission } from "./permissions.ts";
import { type FieldProblem, problems } from "./problems.ts";
import { requestOrigin } from "./request-origin.ts";

/**
 * People and their roles at a study, for admins: the one use case behind the
 * API's `/people` and the admin pages. Grants are replaced whole; revocation
 * keeps the grant and its history.
 */

/** The principal a person's grant makes; none when it is revoked or holds no role. */
export function principalOfGrant(grant: Grant, user: string): Principal | undefined {
  if (grant.revokedAt || grant.roles.length === 0) return undefined;
  return {
    user,
    person: grant.person,
    study: grant.study,
    roles: grant.roles,
    ...(grant.deidentified ? { deidentified: true } : {}),
  };
}

export interface PersonWithGrant extends Person {
  label: string;
  grant?: Omit<Grant, "study" | "person">;
}

/** Everyone who has signed in, with their grant at this study (revoked ones shown as such). */
export async function listPeopleAt(
  c: Context<AppEnv>,
  definition: StudyDefinition,
): Promise<PersonWithGrant[]> {
  requirePermission(c.var.principal, "manage-users", { study: definition.study.id });
  const [people, grants] = await Promise.all([
    c.var.store.listPeople(),
    c.var.store.listGrants(definition.study.id),
  ]);
  const byPerson = new Map(grants.map((g) => [g.person, g]));
  return people
    .map((p) => {
      const grant = byPerson.get(p.id);
      const { study: _s, person: _p, ...rest } = grant ?? ({} as Grant);
      return { ...p, label: personLabel(p), ...(grant ? { grant: rest } : {}) };
    })
    .sort((a, b) => a.label.localeCompare(b.label));
}

export interface GrantRequestBody {
  roles: RoleGrant[];
  deidentified?: boolean;
}

function grantErrors(definition: StudyDefinition, body: GrantRequestBody): FieldProblem[] {
  const known = new Set(definition.study.sites.map((s) => s.id));
  const errors: FieldProblem[] = [];
  if (body.roles.length === 0)
    errors.push({
      pointer: "/roles",
      code: "empty",
      message: "must hold a role; revoke to take every role away",
    });
  body.roles.forEach((g, i) => {
    if (g.sites.length === 0)
      errors.push({ pointer: `/roles/${i}/sites`, code: "empty", message: "must name a site, or * for all" });
    g.sites.forEach((s, j) => {
      if (s !== ALL_SITES && !known.has(s))
        errors.push({
          pointer: `/roles/${i}/sites/${j}`,
          code: "unknown-site",
          message: `${s} is not a site of the study`,
        });
    });
  });
  return errors;
}

/** Grants or changes the person's roles at the study; 404 for a person who never signed in. */
export async function grantRoles(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  personId: string,
  body: GrantRequestBody,
): Promise<PersonWithGrant> {
  requirePermission(c.var.principal, "manage-users", { study: definition.study.id });
  const person = await c.var.store.findPerson(personId);
  if (!person) throw problems.notFound(`Person ${personId}`);
  const errors = grantErrors(definition, body);
  if (errors.length > 0) throw problems.invalid("The roles cannot be granted as asked.", errors);
  const {
    study: _s,
    person: _p,
    ...grant
  } = await c.var.store.setGrant(
    {
      study: definition.study.id,
      person: personId,
      roles: body.roles,
      ...(body.deidentified ? { deidentified: true } : {}),
    },
    c.var.principal.user,
    requestOrigin(c, c.var.principal),
  );
  return { ...person, label: personLabel(person), grant };
}

/** Revokes every role of the person at the study; the grant stays, with who revoked it and when. */
export async function revokeRoles(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  personId: string,
): Promise<void> {
  requirePermission(c.var.principal, "manage-users", { study: definition.study.id });
  const origin = requestOrigin(c, c.var.principal);
  if (!(await c.var.store.revokeGrant(definition.study.id, personId, c.var.principal.user, origin)))
    throw problems.notFound(`Grant of person ${personId}`);
}
