import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";
import { ACTIONS, type Action, can, permissionMatrix } from "../../functions/http/permissions.ts";
import { ALL_SITES, type Principal } from "../../functions/store/principal.ts";
import { appRoutes } from "../helpers/app-routes.ts";
import { Product, STUDY } from "./harness.ts";

/**
 * One permission table (functions/http/permissions.ts) for the API and the
 * pages. Every route declares the action it needs here; each role's token then
 * walks every route, and a 403 must come exactly where `can` says no. A route
 * added without an entry fails the first test, so API and pages cannot drift
 * apart again.
 */

const API: Record<string, Action> = {
  "GET /studies/{study}": "read-deidentified",
  "POST /studies/{study}/subjects": "enrol",
  "GET /studies/{study}/subjects": "read-identified",
  "GET /studies/{study}/subjects/{subject}": "read-identified",
  "GET /studies/{study}/subjects/{subject}/events/{event}/forms/{form}": "read-identified",
  "PUT /studies/{study}/subjects/{subject}/events/{event}/forms/{form}": "enter-data",
  "GET /studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}":
    "read-identified",
  "PUT /studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}": "enter-data",
  "POST /studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/entered-in-error":
    "mark-entered-in-error",
  "POST /studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/restore":
    "mark-entered-in-error",
  "GET /studies/{study}/subjects/{subject}/audit": "read-identified",
  "POST /studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/files/{field}":
    "enter-data",
  "POST /studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/files/{field}/uploads":
    "enter-data",
  "POST /studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/files/{field}/uploads/{uploadId}":
    "enter-data",
  "GET /studies/{study}/subjects/{subject}/files/{sha256}": "read-identified",
  "GET /studies/{study}/files": "read-identified",
  "POST /studies/{study}/subjects/{subject}/status": "change-subject-status",
  "GET /studies/{study}/subjects/{subject}/status": "read-identified",
  "GET /studies/{study}/subjects/{subject}/signatures": "read-identified",
  "POST /studies/{study}/subjects/{subject}/verifications": "verify",
  "GET /studies/{study}/subjects/{subject}/review-state": "read-identified",
  "POST /studies/{study}/subjects/{subject}/locks": "lock",
  "POST /studies/{study}/subjects/{subject}/unlock": "lock",
  "POST /studies/{study}/freeze": "lock",
  "POST /studies/{study}/unfreeze": "lock",
  "GET /studies/{study}/audit/verify": "verify-audit",
  "GET /studies/{study}/access-log": "read-access-log",
  "GET /studies/{study}/definitions": "read-deidentified",
  "POST /studies/{study}/definitions": "publish",
  "GET /studies/{study}/definitions/{version}": "read-deidentified",
  "POST /studies/{study}/definitions/impact": "publish",
  "GET /studies/{study}/records": "export",
  "GET /studies/{study}/changes": "export",
  "GET /studies/{study}/metadata/{kind}": "read-deidentified",
  "GET /studies/{study}/odm": "export",
  "POST /studies/{study}/tokens": "manage-tokens",
  "GET /studies/{study}/tokens": "manage-tokens",
  "DELETE /studies/{study}/tokens/{id}": "manage-tokens",
  "POST /studies/{study}/keys": "manage-own-keys",
  "GET /studies/{study}/keys": "manage-own-keys",
  "DELETE /studies/{study}/keys/{id}": "manage-own-keys",
  "POST /studies": "create-study",
  "GET /studies/{study}/people": "manage-users",
  "PUT /studies/{study}/people/{person}/grant": "manage-users",
  "DELETE /studies/{study}/people/{person}/grant": "manage-users",
  "POST /studies/{study}/subjects/{subject}/queries": "raise-query",
  "GET /studies/{study}/subjects/{subject}/queries": "read-identified",
  "POST /studies/{study}/subjects/{subject}/queries/{query}/answer": "answer-query",
  "POST /studies/{study}/subjects/{subject}/queries/{query}/close": "close-query",
  "POST /studies/{study}/subjects/{subject}/queries/{query}/reopen": "close-query",
  "GET /studies/{study}/queries": "read-identified",
  "POST /studies/{study}/record-imports": "enter-data",
  "GET /studies/{study}/record-imports": "enter-data",
  "GET /studies/{study}/record-imports/{job}": "enter-data",
  "POST /studies/{study}/exports": "export",
  "GET /studies/{study}/exports": "export",
  "GET /studies/{study}/exports/{job}": "export",
  "PUT /studies/{study}/export-schedules/{name}": "export",
  "GET /studies/{study}/export-schedules/{name}": "export",
  "GET /studies/{study}/export-schedules": "export",
  "DELETE /studies/{study}/export-schedules/{name}": "export",
};

const FORM = "/studies/:study/subjects/:subject/events/:event/forms/:form";
const PAGES: Record<string, Action> = {
  "GET /home": "read-deidentified",
  "GET /studies/:study": "read-identified",
  "GET /studies/:study/enrol": "enrol",
  "POST /studies/:study/enrol": "enrol",
  "GET /studies/:study/subjects/:subject": "read-identified",
  // The protocol's precompiled checks, loaded by the form pages (and the builder's preview) that need them.
  "GET /studies/:study/validators/:version/:file": "read-identified",
  "GET /studies/:study/subjects/:subject/audit": "read-identified",
  "GET /studies/:study/subjects/:subject/files/:sha256": "read-identified",
  "GET /studies/:study/subjects/:subject/casebook/print": "read-identified",
  "POST /studies/:study/subjects/:subject/status": "change-subject-status",
  "GET /studies/:study/subjects/:subject/sign": "sign",
  "POST /studies/:study/subjects/:subject/sign": "sign",
  "GET /auth/reauthenticate": "sign",
  "GET /studies/:study/builder": "publish",
  "GET /studies/:study/builder/preview/:form": "publish",
  "GET /studies/:study/builder/edit": "publish",
  "POST /studies/:study/builder/draft": "publish",
  "POST /studies/:study/builder/publish": "publish",
  "GET /studies/:study/exports": "export",
  "GET /studies/:study/exports/records": "export",
  "GET /studies/:study/exports/odm": "export",
  "GET /studies/:study/exports/dictionary.csv": "export",
  "POST /studies/:study/exports/jobs": "export",
  "GET /studies/:study/builder/tokens": "manage-tokens",
  "POST /studies/:study/builder/tokens": "manage-tokens",
  "POST /studies/:study/builder/tokens/:id/revoke": "manage-tokens",
  "GET /account/keys": "manage-own-keys",
  "POST /account/keys": "manage-own-keys",
  "POST /account/keys/:id/revoke": "manage-own-keys",
  "GET /account/studies": "create-study",
  "POST /account/studies": "create-study",
  "GET /studies/:study/people": "manage-users",
  "POST /studies/:study/people/:person": "manage-users",
  "POST /studies/:study/people/:person/revoke": "manage-users",
  "GET /studies/:study/access-log": "read-access-log",
  [`GET ${FORM}`]: "read-identified",
  [`POST ${FORM}`]: "enter-data",
  [`GET ${FORM}/instances/:instance`]: "read-identified",
  [`POST ${FORM}/instances/:instance`]: "enter-data",
  [`POST ${FORM}/instances/:instance/entered-in-error`]: "mark-entered-in-error",
  [`POST ${FORM}/instances/:instance/restore`]: "mark-entered-in-error",
  "GET /studies/:study/queries": "read-identified",
  "POST /studies/:study/subjects/:subject/queries": "raise-query",
  "POST /studies/:study/subjects/:subject/queries/:query/answer": "answer-query",
  "POST /studies/:study/subjects/:subject/queries/:query/close": "close-query",
  "POST /studies/:study/subjects/:subject/queries/:query/reopen": "close-query",
  [`POST ${FORM}/instances/:instance/verify`]: "verify",
  "POST /studies/:study/subjects/:subject/locks": "lock",
  "POST /studies/:study/subjects/:subject/unlock": "lock",
};
/**
 * Where a role that may act is still refused with 403 because the walkers
 * sign in with API keys: a signature needs a person who re-authenticates.
 */
const KEYS_REFUSED = new Set(["POST /studies/:study/subjects/:subject/sign"]);

/** Pages anyone may reach, signed in or not: the session itself and content-hashed scripts. */
/**
 * Operations without a role: the local stand-in for S3's presigned PUT, whose
 * unguessable upload id (handed out after the enter-data check) is the credential.
 */
const CAPABILITY_OPERATIONS = new Set(["PUT /uploads/{uploadId}"]);

const OPEN_PAGES = /^(GET|POST) \/(signin|signout)?$|^GET \/assets\/|^GET \/auth\/(login|callback)$/;

/** One token per role (site-01's is the coordinator's). */
const WALKERS = ["site-01", "investigator", "monitor", "data_manager", "sponsor", "builder", "admin"];

let product: Product;
let subject: string;
const principals: Record<string, Principal> = {};
const tokenOf: Record<string, string> = {};

beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  subject = await product.enrol("site-01");
  // The roles without a dev token get one here, so every role walks every route.
  for (const role of ["investigator", "data_manager", "admin"] as const) {
    const token = `test-${role}`;
    const key = { user: `test-${role}`, role, study: STUDY, sites: [ALL_SITES] };
    product.env.tokens[role] = await storeDevKey(product.env.store, token, key);
  }
  for (const name of WALKERS) {
    const t = product.env.tokens[name];
    if (!t) throw new Error(`no dev token ${name}`);
    const { principal } = await product.env.store.checkToken(t.token);
    if (!principal) throw new Error(`dev token ${name} admits no one`);
    principals[name] = principal;
    tokenOf[name] = t.token;
  }
});

afterAll(() => product.close());

const params = (name: string) =>
  ({
    study: STUDY,
    subject,
    event: "screening",
    form: "demographics",
    instance: "1",
    version: "1",
    kind: "instrument",
    id: "000000000000",
    person: "0123456789abcdef01234567",
  })[name] ?? name;

/** A body each write would accept, so an allowed write is not refused by validation before permission. */
function apiBody(path: string): unknown {
  if (path.endsWith("/status")) return { status: "completed" };
  if (path.endsWith("/subjects")) return { site: "site-01", arm: "rrms" };
  if (path.endsWith("/entered-in-error") || path.endsWith("/restore")) return { rev: 1, reason: "test" };
  if (path.endsWith("/queries")) return { target: {}, text: "test" };
  if (/\/queries\/[^/]+\/\w+$/.test(path)) return { text: "test" };
  if (path.includes("/forms/")) return { data: { initials: "ABC" }, status: "incomplete", rev: 0 };
  if (path.endsWith("/grant")) return { roles: [{ role: "monitor", sites: ["site-01"] }] };
  const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
  if (path.endsWith("/tokens"))
    return { user: "x", owner: "nobody@example.org", scope: [{ role: "sponsor", sites: ["*"] }], expiresAt };
  if (path.endsWith("/keys")) return { expiresAt };
  return { definition: {}, reason: "test" };
}

/** The table as markdown: one row per action, one column per role. */
function matrixText(): string {
  const matrix = permissionMatrix();
  const rows = (Object.keys(ACTIONS) as Action[]).map(
    (a) => `| ${a} | ${matrix.map(({ actions }) => (actions[a] ? "yes" : "")).join(" | ")} |`,
  );
  return [
    `| action | ${matrix.map(({ role }) => role).join(" | ")} |`,
    `|---|${matrix.map(() => "---").join("|")}|`,
    ...rows,
  ].join("\n");
}

describe("one permission table", () => {
  it("is printed in docs/architecture.md exactly as the code grants it", () => {
    const doc = readFileSync(new URL("../../docs/architecture.md", import.meta.url), "utf8");
    // The formatter pads the table's columns; cells are compared, not spaces.
    const cells = (text: string) => text.replace(/ *\| */g, "|").replace(/-{3,}/g, "---");
    expect(cells(doc)).toContain(cells(matrixText()));
  });

  it("names the action of every API operation and every page", async () => {
    const doc = (await (await product.env.app.request("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(operations.filter((o) => !(o in API) && !CAPABILITY_OPERATIONS.has(o))).toEqual([]);
    expect(Object.keys(API).filter((o) => !operations.includes(o))).toEqual([]);
    const pages = [
      ...new Set(
        appRoutes(product.env.app)
          .filter((r) => r.method !== "ALL" && !r.path.startsWith("/api") && !r.path.includes("*"))
          .map((r) => `${r.method} ${r.path}`),
      ),
    ].filter((p) => !OPEN_PAGES.test(p));
    expect(pages.filter((p) => !(p in PAGES))).toEqual([]);
    expect(Object.keys(PAGES).filter((p) => !pages.includes(p))).toEqual([]);
  });

  for (const name of WALKERS) {
    it(`refuses ${name} through the API exactly where the table says no`, async () => {
      const disagreements: string[] = [];
      for (const [operation, action] of Object.entries(API)) {
        const [method = "", template = ""] = operation.split(" ");
        const path = `/api/v1${template.replace(/\{(\w+)\}/g, (_, p: string) => params(p))}`;
        const write = method !== "GET" && method !== "DELETE";
        const res = await product.env.app.request(path, {
          method,
          headers: {
            authorization: `Bearer ${tokenOf[name]}`,
            ...(write ? { "content-type": "application/json" } : {}),
          },
          ...(write ? { body: JSON.stringify(apiBody(path)) } : {}),
        });
        const allowed = can(principals[name] as Principal, action, { study: STUDY, site: "site-01" });
        if ((res.status === 403) === allowed)
          disagreements.push(`${operation} (${action}): ${res.status}, table says ${allowed ? "yes" : "no"}`);
        if (write && !allowed) {
          // Refused before the body is read: a caller who may never write learns nothing of its shape.
          const bad = await product.env.app.request(path, {
            method,
            headers: { authorization: `Bearer ${tokenOf[name]}`, "content-type": "application/json" },
            body: '{"unexpected":true}',
          });
          if (bad.status !== 403) disagreements.push(`${operation} with a bad body: ${bad.status}, not 403`);
        }
      }
      expect(disagreements).toEqual([]);
    });

    it(`refuses ${name} on the pages exactly where the table says no`, async () => {
      const signIn = await product.env.app.request("/signin", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: tokenOf[name] ?? "" }).toString(),
        redirect: "manual",
      });
      const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      // Where the session lands carries its CSRF token (an admin's landing page is not a subject's).
      const home = await product.env.app.request("/home", { headers: { cookie }, redirect: "manual" });
      const landing = await product.env.app.request(home.headers.get("location") ?? "/", {
        headers: { cookie },
      });
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await landing.text())?.[1] ?? "";
      const disagreements: string[] = [];
      for (const [route, action] of Object.entries(PAGES)) {
        const [method = "", template = ""] = route.split(" ");
        const path = template.replace(/:(\w+)/g, (_, p: string) => params(p));
        const res = await product.env.app.request(path, {
          method,
          headers: {
            cookie,
            origin: "http://localhost",
            ...(method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}),
          },
          ...(method === "POST"
            ? { body: new URLSearchParams({ _csrf: csrf, _rev: "0", _reason: "test" }).toString() }
            : {}),
          redirect: "manual",
        });
        const allowed =
          can(principals[name] as Principal, action, { study: STUDY, site: "site-01" }) &&
          !KEYS_REFUSED.has(route);
        if ((res.status === 403) === allowed)
          disagreements.push(`${route} (${action}): ${res.status}, table says ${allowed ? "yes" : "no"}`);
      }
      expect(disagreements).toEqual([]);
    });
  }

  it("keeps a de-identified principal to de-identified reads and exports", () => {
    const sponsor = { ...(principals.sponsor as Principal), deidentified: true };
    expect(can(sponsor, "export")).toBe(true);
    expect(can(sponsor, "read-deidentified")).toBe(true);
    expect(can(sponsor, "read-identified")).toBe(false);
  });

  it("makes every role walk the routes", () => {
    expect(new Set(Object.values(principals).flatMap((p) => p.roles.map((g) => g.role)))).toEqual(
      new Set(permissionMatrix().map((r) => r.role)),
    );
  });

  it("scopes a site user to its own sites and study", () => {
    const site = principals["site-01"] as Principal;
    expect(can(site, "enter-data", { study: STUDY, site: "site-01" })).toBe(true);
    expect(can(site, "enter-data", { study: STUDY, site: "site-02" })).toBe(false);
    expect(can(site, "enter-data", { study: "another-study", site: "site-01" })).toBe(false);
  });
});
