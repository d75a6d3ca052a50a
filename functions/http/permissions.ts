import { createMiddleware } from "hono/factory";
import { ALL_SITES, type Principal, ROLES, type Role, type RoleGrant } from "../store/principal.ts";
import type { AppEnv } from "./context.ts";
import { problems } from "./problems.ts";

/**
 * The one permission table. Every route and page asks `can` or
 * `requirePermission`; nothing else compares roles. Actions not granted to
 * anyone yet are named so the features that need them (queries, source
 * verification, locks, signatures, people) extend this table rather than
 * add checks of their own.
 */
export const ACTIONS = {
  "read-identified": "read subject data with its identifiers",
  "read-deidentified": "read de-identified exports and the protocol",
  enrol: "enrol subjects",
  "enter-data": "enter data",
  "mark-entered-in-error": "mark data as entered in error or restore it",
  export: "export data",
  publish: "change the protocol",
  "manage-tokens": "manage service keys and revoke anyone's keys",
  "manage-own-keys": "manage your own API keys",
  "raise-query": "raise queries",
  "answer-query": "answer queries",
  "close-query": "close queries",
  verify: "verify data against source",
  lock: "lock data",
  sign: "sign casebooks",
  "change-subject-status": "change a subject's status (screened, enrolled, withdrawn, …)",
  "manage-users": "manage people and their roles",
  "verify-audit": "verify the audit trail",
  "read-access-log": "read the access log",
  "create-study": "create studies on this deployment",
} as const;

export type Action = keyof typeof ACTIONS;

/**
 * What each role may do, limited to the sites of the grant that holds it (a
 * coordinator's sites are its own; monitors, sponsors and builders usually
 * hold all). The investigator is a coordinator who also signs.
 */
const COORDINATOR: readonly Action[] = [
  "manage-own-keys",
  "read-identified",
  "read-deidentified",
  "enrol",
  "enter-data",
  "mark-entered-in-error",
  "export",
  "answer-query",
  "change-subject-status",
];
const GRANTS: Record<Role, readonly Action[]> = {
  coordinator: COORDINATOR,
  investigator: [...COORDINATOR, "sign"],
  monitor: [
    "manage-own-keys",
    "read-identified",
    "read-deidentified",
    "export",
    "raise-query",
    "close-query",
    "verify",
    "verify-audit",
    "read-access-log",
  ],
  data_manager: [
    "manage-own-keys",
    "read-identified",
    "read-deidentified",
    "export",
    "raise-query",
    "close-query",
    "lock",
    "change-subject-status",
    "verify-audit",
    "read-access-log",
  ],
  sponsor: ["manage-own-keys", "read-identified", "read-deidentified", "export"],
  builder: ["manage-own-keys", "read-identified", "read-deidentified", "export", "publish"],
  admin: [
    "manage-own-keys",
    "read-deidentified",
    "manage-users",
    "manage-tokens",
    "verify-audit",
    "read-access-log",
    "create-study",
  ],
};

/** Whatever a role may do, a de-identified principal may only do these. */
const DEIDENTIFIED_ACTIONS: ReadonlySet<Action> = new Set(["read-deidentified", "export", "manage-own-keys"]);

/** What an action is done to: a study, and a site within it where the action touches one subject. */
export interface Resource {
  study: string;
  site?: string;
}

const covers = (grant: RoleGrant, site: string) =>
  grant.sites.includes(ALL_SITES) || grant.sites.includes(site);
const mayRead = (grant: RoleGrant) =>
  GRANTS[grant.role].includes("read-identified") || GRANTS[grant.role].includes("read-deidentified");

/** Grants that allow the action (any read, when none is named). */
const grantsFor = (principal: Principal, action?: Action) =>
  principal.roles.filter((g) => (action ? GRANTS[g.role].includes(action) : mayRead(g)));

/** Whether any grant that may read (or do `action`) covers the site. */
export function seesSite(principal: Principal, site: string, action?: Action): boolean {
  return grantsFor(principal, action).some((g) => covers(g, site));
}

/** The union of the sites of the grants that may read (or do `action`), among the study's. */
export function sitesOf(principal: Principal, allSites: string[], action?: Action): string[] {
  return allSites.filter((s) => seesSite(principal, s, action));
}

export function can(principal: Principal, action: Action, resource?: Resource): boolean {
  if (principal.deidentified && !DEIDENTIFIED_ACTIONS.has(action)) return false;
  if (resource && resource.study !== principal.study) return false;
  const site = resource?.site;
  return grantsFor(principal, action).some((g) => site === undefined || covers(g, site));
}

/** The principal's role words, for messages and the page header. */
export function roleNames(principal: Principal): string {
  return [...new Set(principal.roles.map((g) => g.role.replace("_", " ")))].join(", ") || "no role";
}

/** 403 problem+json naming the role and the action; resource scope failures are the caller's 404. */
export function requirePermission(principal: Principal, action: Action, resource?: Resource): void {
  if (!can(principal, action, resource)) {
    throw problems.forbidden(`Your role (${roleNames(principal)}) cannot ${ACTIONS[action]}.`);
  }
}

/**
 * The role-level gate as route middleware, so it runs before the request is
 * validated: a caller who may never do this gets 403, not a description of
 * the body it should have sent. Site scope is checked later, where the
 * subject is loaded (outside the caller's sites it is a 404).
 */
export const permitted = (action: Action) =>
  createMiddleware<AppEnv>(async (c, next) => {
    requirePermission(c.var.principal, action);
    await next();
  });

/** The table as rows of role × action, for the documentation and the matrix test. */
export function permissionMatrix(): { role: Role; actions: Record<Action, boolean> }[] {
  return ROLES.map((role) => ({
    role,
    actions: Object.fromEntries(
      (Object.keys(ACTIONS) as Action[]).map((a) => [a, GRANTS[role].includes(a)]),
    ) as Record<Action, boolean>,
  }));
}
