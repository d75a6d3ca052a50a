import type { Context } from "hono";
import { SLUG_PATTERN } from "../engine/meta/study-schema.ts";
import { actingPerson, type RoleGrant } from "../store/principal.ts";
import { FOUNDER_ROLES } from "../store/studies.ts";
import { newToken } from "../store/tokens.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission } from "./permissions.ts";
import { ProblemError, problems } from "./problems.ts";

/**
 * Creating a study on this deployment, for the API (`POST /api/v1/studies`)
 * and the admin page alike: the creator is granted admin and builder at it
 * and handed a short-lived key there, to publish its definition and grant
 * its people.
 */

/** The key handed to the creator is short-lived: it is for setting the study up, not for daily work. */
const FOUNDER_KEY_DAYS = 30;
export const STUDY_ID_MAX = 64;

export interface NewStudy {
  id: string;
  title?: string;
}

export interface CreatedStudy {
  id: string;
  title?: string;
  createdAt: string;
  createdBy: string;
  roles: RoleGrant[];
  key: { token: string; expiresAt: string };
}

/** Why an id cannot name a study, or undefined when it can. */
export function studyIdProblem(id: string): string | undefined {
  if (id === "") return "Give the study an id.";
  if (id.length > STUDY_ID_MAX) return `A study id has at most ${STUDY_ID_MAX} characters.`;
  if (!new RegExp(SLUG_PATTERN).test(id))
    return "A study id is lower-case letters, digits and hyphens, starting with a letter or digit (e.g. second-study).";
  return undefined;
}

export async function createStudyFor(c: Context<AppEnv>, request: NewStudy): Promise<CreatedStudy> {
  const principal = c.var.principal;
  requirePermission(principal, "create-study");
  const owner = actingPerson(principal);
  if (!owner) throw problems.forbidden("Only a person, or a person's key, can create a study.");
  const { id, title } = request;
  const outcome = await c.var.store.createStudy({
    id,
    ...(title ? { title } : {}),
    owner,
    by: principal.user,
  });
  if (outcome.kind === "exists")
    throw new ProblemError(409, "study-exists", "The study exists", `Study ${id} exists already.`);
  const latest = Date.now() + FOUNDER_KEY_DAYS * 86_400_000;
  const expiresAt = new Date(
    principal.expiresAt ? Math.min(latest, Date.parse(principal.expiresAt)) : latest,
  ).toISOString();
  const token = newToken();
  await c.var.store.storeToken(
    token,
    { user: principal.user, owner, kind: "personal", study: id, scope: FOUNDER_ROLES, expiresAt },
    principal.user,
  );
  return { ...outcome.study, roles: FOUNDER_ROLES, key: { token, expiresAt } };
}
