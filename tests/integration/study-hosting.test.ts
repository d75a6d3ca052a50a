import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import { appRoutes } from "../helpers/app-routes.ts";
import { Product, STUDY } from "./harness.ts";
import { Browser } from "./web-client.ts";

/** Two studies on one server: the reference study (A) and one an admin creates (B). */
const B = "second-study";

/** The reference protocol under another id: study B's definition as a builder would send it. */
function definitionOf(id: string) {
  const study = JSON.parse(readFileSync("forms/study.json", "utf8"));
  const dir = "forms/instruments";
  const instruments = Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => [path.basename(f, ".json"), JSON.parse(readFileSync(path.join(dir, f), "utf8"))]),
  );
  return { study: { ...study, id }, instruments };
}

let product: Product;
const tokens: Record<string, string> = {};

async function call(method: string, url: string, token: string, body?: unknown) {
  const res = await product.env.app.request(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, body: text.startsWith("{") ? JSON.parse(text) : undefined };
}

const save = (study: string, subject: string, token: string, initials: string) =>
  call("PUT", `/api/v1/studies/${study}/subjects/${subject}/events/screening/forms/demographics`, token, {
    data: { initials },
    status: "incomplete",
    rev: 0,
  });

beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  const adminA = await storeDevKey(product.env.store, "test-admin-a", {
    user: "admin-a",
    role: "admin",
    study: STUDY,
    sites: [ALL_SITES],
  });
  tokens.adminA = adminA.token;
  for (const name of ["site-01", "builder", "monitor", "sponsor"]) tokens[name] = product.token(name);
});

afterAll(() => product.env.close());

describe("many studies on one deployment", () => {
  let founder = "";
  let subjectA = "";
  let subjectB = "";

  it("lets an admin create a study, and no one else", async () => {
    expect((await call("POST", "/api/v1/studies", tokens.builder as string, { id: B })).status).toBe(403);
    const created = await call("POST", "/api/v1/studies", tokens.adminA as string, { id: B, title: "B" });
    expect(created.status).toBe(201);
    expect(created.body.roles.map((r: { role: string }) => r.role)).toEqual(["admin", "builder"]);
    founder = created.body.key.token;
    expect((await call("POST", "/api/v1/studies", tokens.adminA as string, { id: B })).status).toBe(409);
    // A published study cannot be created again either: nobody takes one over that way.
    expect((await call("POST", "/api/v1/studies", tokens.adminA as string, { id: STUDY })).status).toBe(409);
    const bad = await call("POST", "/api/v1/studies", tokens.adminA as string, { id: "Not A Slug" });
    expect(bad.status).toBe(400);
  });

  it("publishes the new study's definition, and its admin grants people there", async () => {
    const published = await call("POST", `/api/v1/studies/${B}/definitions`, founder, {
      definition: definitionOf(B),
      reason: "first version",
    });
    expect(published.status).toBe(201);
    expect(published.body.version).toBe(1);
    // A study nobody created is still refused, as before.
    const unknown = await call("POST", "/api/v1/studies/nowhere/definitions", founder, {
      definition: definitionOf("nowhere"),
    });
    expect(unknown.status).toBe(404);

    const person = await product.env.store.upsertPerson(
      { issuer: "urn:test", sub: "b-coordinator", name: "B coordinator" },
      { signedIn: false },
    );
    const granted = await call("PUT", `/api/v1/studies/${B}/people/${person.id}/grant`, founder, {
      roles: [{ role: "coordinator", sites: ["site-01"] }],
    });
    expect(granted.status).toBe(200);
    expect(await product.env.store.findGrant(STUDY, person.id)).toBeUndefined();
    const siteB = await storeDevKey(product.env.store, "test-site-b", {
      user: "b-coordinator-key",
      role: "coordinator",
      study: B,
      sites: ["site-01"],
    });
    tokens.siteB = siteB.token;

    const enrolB = await call("POST", `/api/v1/studies/${B}/subjects`, siteB.token, {
      site: "site-01",
      arm: "rrms",
    });
    expect(enrolB.status).toBe(201);
    subjectB = enrolB.body.id;
    expect((await save(B, subjectB, siteB.token, "ZQB")).status).toBeLessThan(300);
    subjectA = await product.enrol("site-01");
    expect((await save(STUDY, subjectA, tokens["site-01"] as string, "AQA")).status).toBeLessThan(300);
  });

  it("answers 404 to study A's keys on every API route of study B", async () => {
    const doc = (await (await product.env.app.request("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.entries(doc.paths)
      .filter(([p]) => p.includes("{study}"))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), p] as const));
    expect(operations.length).toBeGreaterThan(40);
    const params: Record<string, string> = {
      study: B,
      subject: subjectB,
      event: "screening",
      form: "demographics",
      instance: "1",
      version: "1",
      kind: "instrument",
      id: "000000000000",
      person: "0123456789abcdef01234567",
      query: "q",
    };
    const leaks: string[] = [];
    for (const name of ["adminA", "site-01", "builder", "monitor", "sponsor"]) {
      for (const [method, template] of operations) {
        const url = `/api/v1${template.replace(/\{(\w+)\}/g, (_, p: string) => params[p] ?? p)}`;
        const write = method !== "GET" && method !== "DELETE";
        const res = await call(method, url, tokens[name] as string, write ? {} : undefined);
        if (res.status !== 404 || res.text.includes("ZQB"))
          leaks.push(`${name} ${method} ${template}: ${res.status}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it("answers 404 to a person signed in at study A on every page of study B", async () => {
    const signIn = await product.env.app.request("/signin", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: tokens["site-01"] as string }).toString(),
      redirect: "manual",
    });
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const pages = [
      ...new Set(
        appRoutes(product.env.app)
          .filter((r) => r.method !== "ALL" && r.path.startsWith("/studies/:study"))
          .map((r) => `${r.method} ${r.path}`),
      ),
    ];
    expect(pages.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const page of pages) {
      const [method = "", template = ""] = page.split(" ");
      const url = template
        .replace(":study", B)
        .replace(/:(\w+)/g, (_, p: string) => (p === "subject" ? subjectB : p === "instance" ? "1" : p));
      const res = await product.env.app.request(url, {
        method,
        headers: {
          cookie,
          origin: "http://localhost",
          ...(method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        },
        ...(method === "POST" ? { body: "_csrf=x" } : {}),
        redirect: "manual",
      });
      const text = await res.text();
      if (res.status !== 404 || text.includes("ZQB")) leaks.push(`${page}: ${res.status}`);
    }
    expect(leaks).toEqual([]);
  });

  it("keeps B's subjects out of A's change feed and records export, and A's out of B's", async () => {
    const feedA = await call("GET", `/api/v1/studies/${STUDY}/changes`, tokens["site-01"] as string);
    const recordsA = await call("GET", `/api/v1/studies/${STUDY}/records`, tokens["site-01"] as string);
    for (const answer of [feedA, recordsA]) {
      expect(answer.status).toBe(200);
      expect(answer.text).toContain("AQA");
      expect(answer.text).not.toContain("ZQB");
    }
    const feedB = await call("GET", `/api/v1/studies/${B}/changes`, tokens.siteB as string);
    const recordsB = await call("GET", `/api/v1/studies/${B}/records`, tokens.siteB as string);
    for (const answer of [feedB, recordsB]) {
      expect(answer.status).toBe(200);
      expect(answer.text).toContain("ZQB");
      expect(answer.text).not.toContain("AQA");
    }
  });
});

describe("study folders served beside forms/", () => {
  it("publishes each at start, with dev keys of its own that reach only it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "study-folder-"));
    const { study, instruments } = definitionOf("folder-study");
    mkdirSync(path.join(dir, "instruments"));
    writeFileSync(path.join(dir, "study.json"), JSON.stringify(study));
    for (const [id, schema] of Object.entries(instruments))
      writeFileSync(path.join(dir, "instruments", `${id}.json`), JSON.stringify(schema));
    const env = await startDevEnvironment({ studyDirs: [dir] });
    try {
      const hosted = env.studies["folder-study"];
      expect(hosted?.dir).toBe(dir);
      const get = (url: string, token: string) =>
        env.app.request(url, { headers: { authorization: `Bearer ${token}` } });
      const builder = hosted?.tokens.builder?.token ?? "";
      expect((await get("/api/v1/studies/folder-study", builder)).status).toBe(200);
      expect((await get(`/api/v1/studies/${STUDY}`, builder)).status).toBe(404);
      expect((await get("/api/v1/studies/folder-study", env.tokens.builder?.token ?? "")).status).toBe(404);
    } finally {
      await env.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the admin page that creates a study (GET/POST /account/studies)", () => {
  it("creates through the same use case as POST /api/v1/studies; a taken or malformed id is shown inline; admins only", async () => {
    product.env.tokens["admin-a"] = { token: tokens.adminA } as never;
    const admin = new Browser(product);
    expect((await admin.signIn("admin-a")).status).toBe(303);
    const form = await admin.request("GET", "/account/studies");
    expect(form.status).toBe(200);
    const csrf = admin.csrf(form.html);
    const post = (id: string, title = "") =>
      admin.request("POST", "/account/studies", { _csrf: csrf, id, title });

    const bad = await post("Bad Slug", "Kept title");
    expect(bad.status).toBe(422);
    expect(bad.html).toMatch(/<p id="study-id-error" class="error" role="alert">[^<]*lower-case/);
    expect(bad.html).toContain('value="Bad Slug"');
    expect(bad.html).toContain('value="Kept title"');

    const created = await post("web-study", "Web study");
    expect(created.status).toBe(200);
    const key = /<code data-new-token[^>]*>([^<]+)<\/code>/.exec(created.html)?.[1] ?? "";
    expect(key).toMatch(/^edc_/);
    // The key handed out is the founder's, at the new study, as the API hands it.
    const published = await call("POST", "/api/v1/studies/web-study/definitions", key, {
      definition: definitionOf("web-study"),
      reason: "first version",
    });
    expect(published.status).toBe(201);

    const taken = await post("web-study");
    expect(taken.status).toBe(422);
    expect(taken.html).toMatch(/role="alert">A study with the id web-study exists already/);
    const viaApi = await call("POST", "/api/v1/studies", tokens.adminA as string, { id: "web-study" });
    expect(viaApi.status).toBe(409);

    const coordinator = new Browser(product);
    await coordinator.signIn("site-01");
    expect((await coordinator.request("GET", "/account/studies")).status).toBe(403);
    const refused = await coordinator.request("POST", "/account/studies", {
      _csrf: coordinator.csrf((await coordinator.request("GET", `/studies/${STUDY}`)).html),
      id: "sneaky",
    });
    expect(refused.status).toBe(403);
    expect((await call("POST", "/api/v1/studies", tokens.adminA as string, { id: "sneaky" })).status).toBe(
      201,
    );
  });
});
