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
