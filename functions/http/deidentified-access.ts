import type { Context } from "hono";
import { matchedRoutes } from "hono/route";
import type { Principal } from "../store/principal.ts";
import type { AppEnv } from "./context.ts";
import { can } from "./permissions.ts";
import { problems } from "./problems.ts";

/**
 * The one place that decides what a de-identified principal (a token made with
 * `deidentified: true`) may reach. Its answers must hold no identifier field,
 * no real date of a subject and no real subject id.
 *
 * Rather than trust every route and page to remember, routes are listed here
 * by the pattern they are declared with. Listed routes either carry no subject
 * data (the protocol, REDCap-shaped metadata) or carry it only through
 * `exports/deidentify.ts`, which `flatExportOptions` forces for such a
 * principal. Every other route, a new one included until it is listed here,
 * answers 403 to a de-identified principal: the safe default is refusal.
 *
 * A principal exists on a request only through `admitPrincipal`, which the
 * bearer check, the REDCap endpoint and the web session all call.
 */
const SERVES_DEIDENTIFIED = new Set([
  // No subject data.
  "GET /api/v1/studies/:study",
  "GET /api/v1/studies/:study/definitions",
  "GET /api/v1/studies/:study/definitions/:version",
  "GET /api/v1/studies/:study/metadata/:kind",
  // Subject data, de-identified by exports/deidentify.ts.
  "GET /api/v1/studies/:study/records",
  "GET /api/v1/studies/:study/changes",
  "GET /api/v1/studies/:study/odm",
  // Bulk export jobs: a de-identified principal's job is de-identified (forced at the start and by the
  // runner, as the HTTP exports are), and it sees only de-identified jobs (api/routes/export-jobs.ts).
  "POST /api/v1/studies/:study/exports",
  "GET /api/v1/studies/:study/exports",
  "GET /api/v1/studies/:study/exports/:job",
  "POST /api/",
  // No subject data: API keys, people and their roles, and creating a study.
  "POST /api/v1/studies",
  "POST /api/v1/studies/:study/tokens",
  "GET /api/v1/studies/:study/tokens",
  "DELETE /api/v1/studies/:study/tokens/:id",
  "POST /api/v1/studies/:study/keys",
  "GET /api/v1/studies/:study/keys",
  "DELETE /api/v1/studies/:study/keys/:id",
  "GET /api/v1/studies/:study/people",
  "PUT /api/v1/studies/:study/people/:person/grant",
  "DELETE /api/v1/studies/:study/people/:person/grant",
  // Tamper findings name subject ids, forms and revisions, never values; only monitors, data
  // managers and admins hold verify-audit, and a de-identified principal never does.
  "GET /api/v1/studies/:study/audit/verify",
  // People's names and emails, export filters with subject ids counted, never named.
  "GET /api/v1/studies/:study/access-log",
  "GET /studies/:study/access-log",
  // Web: the session itself and the exports pages (same export code as the API).
  "GET /home",
  "POST /signout",
  "GET /studies/:study/exports",
  "GET /studies/:study/exports/records",
  "GET /studies/:study/exports/odm",
  "GET /studies/:study/exports/dictionary.csv",
  "GET /studies/:study/builder/tokens",
  "POST /studies/:study/builder/tokens",
  "POST /studies/:study/builder/tokens/:id/revoke",
  "GET /account/keys",
  "POST /account/keys",
  "POST /account/keys/:id/revoke",
  "GET /account/studies",
  "POST /account/studies",
  "GET /studies/:study/people",
  "POST /studies/:study/people/:person",
  "POST /studies/:study/people/:person/revoke",
]);

/** De-identified by flag, or by role: an admin manages people and keys but reads no identified data. */
function identifiedOnlyRefused(principal: Principal): boolean {
  return principal.deidentified === true || !can(principal, "read-identified");
}

/** The route that answers this request, as `METHOD /declared/:pattern`; middleware is registered for ALL. */
function answeringRoute(c: Context<AppEnv>): string | undefined {
  const route = matchedRoutes(c).find((r) => r.method !== "ALL");
  return route ? `${route.method} ${route.path}` : undefined;
}

/** The study a page or /api/v1 path is about (`/studies/<id>/…`), if any. */
export function studyOfPath(path: string): string | undefined {
  const match = /^(?:\/api\/v1)?\/studies\/([^/]+)/.exec(path);
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/** Puts the principal on the request, or refuses a de-identified one a route that could identify. */
export function admitPrincipal(c: Context<AppEnv>, principal: Principal): void {
  const route = answeringRoute(c);
  // Another study's route is one that does not exist, whatever the principal could do at its own.
  const study = studyOfPath(c.req.path);
  if (study !== undefined && study !== principal.study) throw problems.notFound(`Study ${study}`);
  // No route answers: the request ends in a 404 that carries nothing.
  if (route && !SERVES_DEIDENTIFIED.has(route) && identifiedOnlyRefused(principal)) {
    throw problems.identifiedOnly();
  }
  c.set("principal", principal);
}

/**
 * Where the web sends a principal after sign-in: the dashboard, or for one who
 * reads no identified data the exports, or an admin's people page.
 */
export function landingPage(principal: Principal): string {
  const study = `/studies/${principal.study}`;
  if (!identifiedOnlyRefused(principal)) return study;
  if (can(principal, "export")) return `${study}/exports`;
  if (can(principal, "manage-users")) return `${study}/people`;
  return "/account/keys";
}
