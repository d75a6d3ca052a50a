import type { Context } from "hono";
import { DEPLOYMENT_LOG } from "../store/access-log.ts";
import type { Principal } from "../store/principal.ts";
import type { AppEnv } from "./context.ts";
import { requestOrigin } from "./request-origin.ts";

/** The actions this code logs (API keys add their own), for the page's filter and the docs. */
export const LOGGED_ACTIONS = [
  "sign-in",
  "sign-in-failed",
  "sign-out",
  "session-timeout",
  "export-records",
  "export-odm",
  "export-changes",
  "export-redcap",
  "export-job-start",
  "export-job-done",
  "export-job-failed",
  "export-schedule-set",
  "export-schedule-delete",
  "export-schedule-refused",
  "grant",
  "grant-change",
  "revoke",
  "publish",
] as const;

/**
 * Appends what the request's principal did to their study's access log, with
 * the request's origin. Exports append before their body is sent (see
 * docs/architecture.md, "Access log"): an append that fails refuses the
 * export, so no data leaves without its entry.
 */
export async function logAccess(
  c: Context<AppEnv>,
  action: string,
  details: Record<string, unknown>,
  principal: Principal = c.var.principal,
): Promise<void> {
  await c.var.store.appendAccessLog(principal.study, {
    ...requestOrigin(c, principal),
    actor: principal.user,
    action,
    details,
  });
}

/**
 * A sign-in that failed before a study could be named: the deployment's log.
 * `claimed` is who the attempt said it was (a key's public id, a person's
 * label), never a secret.
 */
export async function logFailedSignIn(
  c: Context<AppEnv>,
  claimed: string,
  details: Record<string, unknown>,
  person?: string,
): Promise<void> {
  await c.var.store.appendAccessLog(DEPLOYMENT_LOG, {
    ...requestOrigin(c, person ? { person } : undefined),
    actor: claimed,
    action: "sign-in-failed",
    details,
  });
}

/** Filters an export was asked for, as logged. */
export interface LoggedFilters {
  forms?: string[];
  fields?: string[];
  events?: string[];
  subjects?: string[];
  records?: string[];
  [other: string]: unknown;
}

/**
 * The filters as the log keeps them: subject ids (and REDCap `records`) are
 * counted, not named, because admins read the log and read no identified data.
 */
export function loggedFilters(filters: LoggedFilters): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(filters)) {
    if (value === undefined || value === "") continue;
    if (name === "subjects" || name === "records") kept[`${name}Count`] = (value as unknown[]).length;
    else kept[name] = value;
  }
  return kept;
}
