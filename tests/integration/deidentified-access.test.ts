import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENTS as REDCAP_CONTENTS } from "../../functions/api/redcap-params.ts";
import { startDevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";
import type { Role } from "../../functions/store/principal.ts";
import { appRoutes } from "../helpers/app-routes.ts";
import { BASE, Product, STUDY } from "./harness.ts";

/**
 * Issue 8 item 1: a de-identified token walks every API route (from the
 * OpenAPI document), every REDCap `content`, and every web page (from the
 * app's own route table), and must never be answered an identifier value, a
 * real date of the subject or its real subject id. A refusal is a fine answer.
 * Routes are enumerated, not listed here, so a route added later is walked too.
 */

const SUBJECT = "01-417";
const INITIALS = ["QZY", "QZX"];
// More than 180 days apart (the largest date shift), so a shifted date never lands on another real one.
const DATES = {
  dob: "1967-08-19",
  consent: "2021-05-14",
  vitals: "2022-03-09",
  infusion: "2022-11-23",
};

let product: Product;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  // No settle window: the change feed delivers what was just saved.
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  await product.enrol("site-01", { site: "site-01", arm: "rrms", subjectId: SUBJECT });
  // A second subject after it, so a one-subject page of records has a next-page cursor after SUBJECT.
  await product.enrol("site-01", { site: "site-01", arm: "rrms", subjectId: "01-500" });
  const saves = [
    ["screening", "demographics", { initials: "QZY", date_of_birth: DATES.dob, sex: "female" }],
    ["screening", "consent", { consent_date: DATES.consent, consent_signed: true }],
    ["screening", "vital_signs", { vs_date: DATES.vitals, heart_rate: 70 }],
    ["iv_1", "infusion", { infusion_date: DATES.infusion, route: "iv" }],
  ] as const;
  for (const [event, form, data] of saves) {
    const res = await product.save(SUBJECT, event, form, { data });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  // A second revision, so the audit trail holds an old → new identifier.
  const res = await product.save(SUBJECT, "screening", "demographics", {
    data: { initials: "QZX", date_of_birth: DATES.dob, sex: "female" },
    rev: 1,
  });
  expect(res.status).toBe(200);
  const roles: [Role, string[]][] = [
    ["sponsor", ["*"]],
    ["monitor", ["*"]],
    ["builder", ["*"]],
    ["coordinator", ["site-01"]],
  ];
  for (const [role, sites] of roles) {
    tokens[role] = `deid-${role}-token`;
    await storeDevKey(product.env.store, tokens[role], {
      user: `deid-${role}`,
      role,
      study: STUDY,
      sites,
      deidentified: true,
    });
  }
});

afterAll(() => product.close());

/** Every identifying value found in a response, also inside base64url runs (cursors) and URL-encoded text. */
function leaks(text: string): string[] {
  const texts = [text, safeDecodeUri(text)];
  for (const run of text.match(/[A-Za-z0-9_-]{16,}/g) ?? [])
    texts.push(Buffer.from(run, "base64url").toString("latin1"));
  const found = new Set<string>();
  for (const t of texts) {
    if (t.includes(SUBJECT)) found.add(SUBJECT);
    for (const d of Object.values(DATES)) if (t.includes(d)) found.add(d);
    for (const i of INITIALS) if (new RegExp(`\\b${i}\\b`).test(t)) found.add(i);
  }
  return [...found];
}

function safeDecodeUri(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

interface Seen {
  what: string;
  status: number;
  leaks: string[];
}

/** What the server disclosed: headers and body, less the request's own path echoed back (a problem's `instance`). */
async function inspect(what: string, res: Response, path?: string): Promise<Seen> {
  const headers = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join("\n");
  let text = `${headers}\n${await res.text()}`;
  if (path) text = text.replaceAll(path, "<request path>");
  return { what, status: res.status, leaks: leaks(text) };
}

const PARAMS: Record<string, string> = {
  study: STUDY,
  subject: SUBJECT,
  event: "screening",
  form: "demographics",
  instance: "1",
  version: "1",
  id: "000000000000",
};

/** A body each kind of write would accept, so a write that is not refused answers what it wrote. */
function bodyFor(path: string): unknown {
  if (path.endsWith("/subjects")) return { site: "site-01", arm: "rrms" };
  if (path.includes("/forms/"))
    return {
      data: { initials: "QZX", date_of_birth: DATES.dob, sex: "female" },
      status: "incomplete",
      rev: 2,
    };
  if (path.endsWith("/tokens"))
    return { user: "x", expiresAt: new Date(Date.now() + 86_400_000).toISOString() };
  return {};
}

async function walkApi(token: string): Promise<Seen[]> {
  const doc = (await (await product.env.app.request("/api/v1/openapi.json")).json()) as {
    paths: Record<
      string,
      Record<string, { parameters?: { name: string; in: string; schema?: { enum?: string[] } }[] }>
    >;
  };
  const seen: Seen[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const kinds = op.parameters?.find((p) => p.name === "kind" && p.in === "path")?.schema?.enum ?? [""];
      for (const kind of kinds) {
        const path = `/api/v1${template.replace(/\{(\w+)\}/g, (_, name: string) => (name === "kind" ? kind : (PARAMS[name] ?? name)))}`;
        const queries =
          method === "get"
            ? ["", "?format=json", "?format=csv", "?audit=true&deidentify=false", "?limit=1"]
            : [""];
        for (const query of queries) {
          const write = method !== "get" && method !== "delete";
          const res = await product.env.app.request(`${path}${query}`, {
            method: method.toUpperCase(),
            headers: {
              authorization: `Bearer ${token}`,
              ...(write ? { "content-type": "application/json" } : {}),
            },
            ...(write ? { body: JSON.stringify(bodyFor(path)) } : {}),
          });
          seen.push(await inspect(`${method.toUpperCase()} ${path}${query}`, res, path));
        }
      }
    }
  }
  return seen;
}

async function walkRedcap(token: string): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const content of REDCAP_CONTENTS) {
    for (const format of ["json", "csv"]) {
      for (const rawOrLabel of ["raw", "label"]) {
        const form = new URLSearchParams({ token, content, format, rawOrLabel, type: "flat" });
        const res = await product.env.app.request("/api/", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: form.toString(),
        });
        seen.push(await inspect(`POST /api/ content=${content} format=${format} ${rawOrLabel}`, res));
      }
    }
  }
  return seen;
}

/** Every page route of the app, signed in through the web sign-in with the token; sign-out last. */
async function walkPages(token: string): Promise<Seen[]> {
  const signIn = await product.env.app.request("/signin", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
    redirect: "manual",
  });
  const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  expect(cookie).not.toBe("");
  const seen: Seen[] = [await inspect("POST /signin", signIn)];
  const routes = appRoutes(product.env.app)
    .filter(
      (r) =>
        (r.method === "GET" || r.method === "POST") && !r.path.startsWith("/api") && !r.path.includes("*"),
    )
    .map((r) => ({
      method: r.method,
      path: r.path.replace(/:(\w+)/g, (_, name: string) => PARAMS[name] ?? name),
    }))
    .filter((r, i, all) => all.findIndex((x) => x.method === r.method && x.path === r.path) === i)
    .sort((a, b) => Number(a.path === "/signout") - Number(b.path === "/signout"));
  let csrf = "none";
  for (const { method, path } of routes) {
    const form =
      method === "POST"
        ? new URLSearchParams({
            _csrf: csrf,
            initials: "QZX",
            date_of_birth: DATES.dob,
            sex: "female",
            _rev: "2",
          })
        : undefined;
    const res = await product.env.app.request(path, {
      method,
      headers: {
        cookie,
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(form ? { body: form.toString() } : {}),
      redirect: "manual",
    });
    const result = await inspect(`${method} ${path}`, res.clone(), path);
    csrf = /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1] ?? csrf;
    seen.push(result);
  }
  return seen;
}

describe("a de-identified token", () => {
  it("finds the identifying values with an identified token (the detector works)", async () => {
    const res = await product.env.app.request(`${product.formPath(SUBJECT, "screening", "demographics")}`, {
      headers: { authorization: `Bearer ${product.token("sponsor")}` },
    });
    expect((await inspect("identified", res)).leaks).toEqual(expect.arrayContaining(["QZX", DATES.dob]));
  });

  for (const role of ["sponsor", "monitor", "builder", "coordinator"] as const) {
    it(`as ${role}, gets no identifier, real date or real subject id from any API route, REDCap content or page`, async () => {
      const token = tokens[role] as string;
      const seen = [...(await walkApi(token)), ...(await walkRedcap(token)), ...(await walkPages(token))];
      expect(seen.length).toBeGreaterThan(40);
      expect(seen.filter((s) => s.status >= 500)).toEqual([]);
      expect(seen.filter((s) => s.leaks.length > 0)).toEqual([]);
    });
  }

  it("is refused identifying routes with a 403 problem, and lands on the exports page after web sign-in", async () => {
    const res = await product.call("GET", `${BASE}/subjects`, { as: "sponsor" });
    expect(res.status).toBe(200);
    const refused = await product.env.app.request(`${BASE}/subjects`, {
      headers: { authorization: `Bearer ${tokens.sponsor}` },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(((await refused.json()) as { type: string }).type).toBe("urn:edc:problem:identified-only");
    const signIn = await product.env.app.request("/signin", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: tokens.sponsor as string }).toString(),
      redirect: "manual",
    });
    expect(signIn.headers.get("location")).toBe(`/studies/${STUDY}/exports`);
  });

  it("cannot pick subjects by their real id, which would tie a real id to its key", async () => {
    const auth = { authorization: `Bearer ${tokens.sponsor}` };
    for (const path of [`${BASE}/records?subjects=${SUBJECT}`, `${BASE}/odm?subjects=${SUBJECT}`]) {
      const res = await product.env.app.request(path, { headers: auth });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe("/subjects");
    }
    // REDCap's `records` names records by the keys the token was given: a real id selects nothing.
    const byRecords = async (record: string) => {
      const res = await product.env.app.request("/api/", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token: tokens.sponsor as string,
          content: "record",
          format: "json",
          "records[0]": record,
        }).toString(),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { record_id: string }[];
    };
    expect(await byRecords(SUBJECT)).toEqual([]);
    const all = await byRecords("");
    const key = all[0]?.record_id as string;
    expect(key).toBeTruthy();
    expect(key).not.toBe(SUBJECT);
    const picked = await byRecords(key);
    expect(picked.length).toBeGreaterThan(0);
    expect(new Set(picked.map((r) => r.record_id))).toEqual(new Set([key]));
  });

  it("still gets its de-identified exports: records, the change feed, ODM and REDCap records", async () => {
    const auth = { authorization: `Bearer ${tokens.sponsor}` };
    const records = await product.env.app.request(`${BASE}/records?format=json`, { headers: auth });
    expect(records.status).toBe(200);
    const rows = (await records.json()) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.consent_date)).toBe(true);
    const feed = await product.env.app.request(`${BASE}/changes`, { headers: auth });
    expect(feed.status).toBe(200);
    const { changes } = (await feed.json()) as { changes: { subject: string }[] };
    expect(changes.length).toBe(5);
    expect(changes.every((c) => c.subject === rows[0]?.record_id)).toBe(true);
    const odm = await product.env.app.request(`${BASE}/odm?audit=true`, { headers: auth });
    expect(odm.status).toBe(200);
    expect(await odm.text()).toContain("<AuditRecord");
  });
});
