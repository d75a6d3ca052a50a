/**
 * Who a request speaks for: a person signed in through OpenID Connect, or an
 * API key. Either way it holds grants at one study; what the grants allow is
 * decided only by http/permissions.ts.
 */

export type Role =
  | "coordinator"
  | "investigator"
  | "monitor"
  | "data_manager"
  | "sponsor"
  | "builder"
  | "admin";
export const ROLES: readonly Role[] = [
  "coordinator",
  "investigator",
  "monitor",
  "data_manager",
  "sponsor",
  "builder",
  "admin",
];

/** `sites: ["*"]` means every site of the study. */
export const ALL_SITES = "*";

export interface RoleGrant {
  role: Role;
  sites: string[];
}

export interface Principal {
  /** The label kept in the audit trail: a person's email (or name), an API key's user. */
  user: string;
  /** The person's id when a person signed in (absent for API keys). */
  person?: string;
  /** The API key a request came with: its public id, and the person it belongs to. */
  key?: { id: string; owner: string };
  study: string;
  /** A person may hold several roles at a study, each at its own sites. */
  roles: RoleGrant[];
  expiresAt?: string;
  /** Exports are always de-identified (identifiers out, dates shifted, ids hashed). */
  deidentified?: boolean;
}

/** The role `site` of the first tokens is a coordinator's; anything else unknown grants nothing. */
export function readRole(value: unknown): Role | undefined {
  if (value === "site") return "coordinator";
  return ROLES.find((r) => r === value);
}

/** The person a principal acts for: the one signed in, or the owner of the key. */
export function actingPerson(principal: Principal): string | undefined {
  return principal.person ?? principal.key?.owner;
}

function commonSites(a: string[], b: string[]): string[] {
  if (a.includes(ALL_SITES)) return b;
  if (b.includes(ALL_SITES)) return a;
  return a.filter((s) => b.includes(s));
}

/**
 * What a key may do now: each of its roles, at the sites where its owner
 * still holds that role. A role the owner lost, or sites they lost it at,
 * drop out, so a revocation of the person stops their keys at once.
 */
export function intersectGrants(scope: RoleGrant[], held: RoleGrant[]): RoleGrant[] {
  return scope.flatMap((wanted) => {
    const sites = [
      ...new Set(
        held.filter((h) => h.role === wanted.role).flatMap((h) => commonSites(wanted.sites, h.sites)),
      ),
    ];
    if (sites.length === 0) return [];
    return [{ role: wanted.role, sites: sites.includes(ALL_SITES) ? [ALL_SITES] : sites }];
  });
}

/** Whether every role of `scope`, at every one of its sites, is held in `held`. */
export function withinGrants(scope: RoleGrant[], held: RoleGrant[]): boolean {
  const kept = intersectGrants(scope, held);
  return scope.every((wanted) => {
    const got = kept.find((k) => k.role === wanted.role);
    if (!got) return false;
    if (got.sites.includes(ALL_SITES)) return true;
    return !wanted.sites.includes(ALL_SITES) && wanted.sites.every((s) => got.sites.includes(s));
  });
}
