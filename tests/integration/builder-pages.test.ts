import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import { type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
let subject: string;
beforeAll(async () => {
  product = await startProduct();
  product.env.tokens.admin = await storeDevKey(product.env.store, "test-admin-key", {
    user: "test-admin",
    role: "admin",
    study: product.env.studyId,
    sites: [ALL_SITES],
  });
  subject = await product.enrol();
  await product.save(subject, "screening", "mri", { data: { comments: "stable", field_strength: "3t" } });
});
afterAll(() => product.close());

const builder = "/studies/hucmsc-ms-nmo/builder";
/** The dev monitor key's owner, a person who holds the monitor role at every site. */
const monitorOwner = () => product.env.tokens.monitor?.owner ?? "";
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const mri = () => JSON.parse(readFileSync("forms/instruments/mri.json", "utf8"));

function upload(csrf: string, name: string, json: unknown): FormData {
  const form = new FormData();
  form.append("_csrf", csrf);
  form.append("upload", new File([JSON.stringify(json)], name, { type: "application/json" }));
  return form;
}

describe("builder pages", () => {
  it("are for builders only", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    expect((await b.request("GET", builder)).status).toBe(403);
  });

  it("list instruments and versions, and preview a form as sites see it, with saving disabled", async () => {
    const b = new Browser(product);
    await b.signIn("builder");
    const home = await b.request("GET", builder);
    expect(home.status).toBe(200);
    expect(home.html).toContain('data-instrument="edss"');
    expect(home.html).toContain('data-version="1"');
    const preview = await b.request("GET", `${builder}/preview/diagnosis`);
    expect(preview.html).toContain('data-field="aqp4_igg"');
    expect(preview.html).toMatch(/<button[^>]*value="complete"[^>]*disabled/);
  });

  it("shows definition errors of an upload with file and pointer, and publishes nothing", async () => {
    const b = new Browser(product);
    await b.signIn("builder");
    const home = await b.request("GET", builder);
    const broken = mri();
    broken.properties.scan_date["x-visble-if"] = true;
    const res = await b.request("POST", `${builder}/draft`, upload(b.csrf(home.html), "mri.json", broken));
    expect(res.status).toBe(422);
    expect(res.html).toContain("instruments/mri.json: /properties/scan_date/x-visble-if");
  });

  it("uploads a destructive change, shows its impact, refuses it unaccepted, then publishes it accepted", async () => {
    const b = new Browser(product);
    await b.signIn("builder");
    const home = await b.request("GET", builder);
    const next = mri();
    delete next.properties.comments;
    next.properties.t2_lesion_count.description = "Count on FLAIR";
    const draft = await b.request("POST", `${builder}/draft`, upload(b.csrf(home.html), "mri.json", next));
    expect(draft.status).toBe(200);
    expect(draft.html).toMatch(/data-change="field-removed:mri.comments" data-severity="destructive"/);
    expect(draft.html).toMatch(/data-change="text-changed:mri.t2_lesion_count" data-severity="safe"/);
    const bundle = /<textarea name="bundle" hidden="">([\s\S]*?)<\/textarea>/.exec(draft.html)?.[1] ?? "";
    const decoded = bundle
      .replaceAll("&quot;", '"')
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll("&#39;", "'")
      .replaceAll("&amp;", "&");

    const refused = await b.request("POST", `${builder}/publish`, {
      _csrf: b.csrf(draft.html),
      bundle: decoded,
      reason: "amendment 4",
    });
    expect(refused.status).toBe(409);
    const published = await b.request("POST", `${builder}/publish`, {
      _csrf: b.csrf(draft.html),
      bundle: decoded,
      reason: "amendment 4",
      accept: "field-removed:mri.comments",
      accept_reason: "Comments no longer collected",
    });
    expect(published.status).toBe(200);
    expect(published.html).toContain("Published version 2");
    const after = await b.request("GET", builder);
    expect(after.html).toMatch(
      /data-version="2"[\s\S]*field-removed:mri.comments — “Comments no longer collected” \(dev-builder\)/,
    );
  });
});

describe("export and token pages", () => {
  it("let a monitor download flat records, ODM and the dictionary", async () => {
    const b = new Browser(product);
    await b.signIn("monitor");
    const page = await b.request("GET", "/studies/hucmsc-ms-nmo/exports");
    expect(page.status).toBe(200);
    const csv = await b.request(
      "GET",
      "/studies/hucmsc-ms-nmo/exports/records?format=csv&forms=mri&rawOrLabel=label",
    );
    expect(csv.headers.get("content-disposition")).toMatch(/attachment; filename="hucmsc-ms-nmo-records-/);
    expect(csv.html.split("\n")[0]).toContain("mri_complete");
    expect(csv.html).toContain(subject);
    const odm = await b.request("GET", "/studies/hucmsc-ms-nmo/exports/odm?audit=true");
    expect(odm.html).toContain('FileType="Transactional"');
    const dictionary = await b.request("GET", "/studies/hucmsc-ms-nmo/exports/dictionary.csv");
    expect(dictionary.html.split("\n")[0]).toContain("Variable / Field Name");
  });

  it("let a site user download its own site's subjects only", async () => {
    const elsewhere = await product.enrol("site-02", { site: "site-02", arm: "rrms" });
    const site = new Browser(product);
    await site.signIn("site-01");
    expect((await site.request("GET", "/studies/hucmsc-ms-nmo/exports")).status).toBe(200);
    const csv = await site.request("GET", "/studies/hucmsc-ms-nmo/exports/records?format=csv");
    expect(csv.status).toBe(200);
    expect(csv.html).toContain(subject);
    expect(csv.html).not.toContain(elsewhere);
    const odm = await site.request("GET", "/studies/hucmsc-ms-nmo/exports/odm");
    expect(odm.html).toContain(`SubjectKey="${subject}"`);
    expect(odm.html).not.toContain(elsewhere);
    const monitor = new Browser(product);
    await monitor.signIn("monitor");
    expect((await monitor.request("GET", "/studies/hucmsc-ms-nmo/exports/odm")).html).toContain(elsewhere);
  });

  it("refuse the service key pages to everyone but admins", async () => {
    const b = new Browser(product);
    await b.signIn("admin");
    const page = await b.request("GET", `${builder}/tokens`);
    const created = await b.request("POST", `${builder}/tokens`, {
      _csrf: b.csrf(page.html),
      user: "kept",
      owner: monitorOwner(),
      role: "monitor",
      expires: inDays(30),
    });
    const id = /data-token="([0-9a-f]{12})"/.exec(created.html)?.[1] ?? "";
    expect(id).not.toBe("");
    for (const who of ["site-01", "monitor", "sponsor", "builder"]) {
      const other = new Browser(product);
      await other.signIn(who);
      const home = await other.request("GET", "/studies/hucmsc-ms-nmo");
      const csrf = other.csrf(home.html);
      expect((await other.request("GET", `${builder}/tokens`)).status, who).toBe(403);
      const post = { _csrf: csrf, user: "x", owner: monitorOwner(), role: "sponsor", expires: inDays(30) };
      expect((await other.request("POST", `${builder}/tokens`, post)).status, who).toBe(403);
      expect(
        (await other.request("POST", `${builder}/tokens/${id}/revoke`, { _csrf: csrf })).status,
        who,
      ).toBe(403);
    }
    const row = (await b.request("GET", `${builder}/tokens`)).html.split("<tr ").find((r) => r.includes(id));
    expect(row).toContain("Revoke");
  });

  it("answer a service key form that cannot be granted with 422 and create nothing", async () => {
    const b = new Browser(product);
    await b.signIn("admin");
    const page = await b.request("GET", `${builder}/tokens`);
    const before = (page.html.match(/data-token=/g) ?? []).length;
    for (const form of [
      { user: " ", owner: monitorOwner(), role: "monitor", expires: inDays(30) },
      { user: "acme", owner: monitorOwner(), role: "monitor", expires: "2000-01-01" },
      { user: "acme", owner: monitorOwner(), role: "monitor", expires: "31/12/2099" },
      { user: "acme", owner: monitorOwner(), role: "monitor", expires: inDays(400) },
      { user: "acme", owner: "nobody@example.org", role: "monitor", expires: inDays(30) },
      // The owner is a monitor: a key cannot hold a role its owner does not.
      { user: "acme", owner: monitorOwner(), role: "coordinator", expires: inDays(30) },
    ]) {
      const res = await b.request("POST", `${builder}/tokens`, { _csrf: b.csrf(page.html), ...form });
      expect(res.status, JSON.stringify(form)).toBe(422);
      expect(res.html).toContain("The key was not created");
      expect(res.html).not.toContain("data-new-token");
      expect((res.html.match(/data-token=/g) ?? []).length).toBe(before);
    }
  });

  it("let an admin create a service key for a named owner, shown once, and revoke it", async () => {
    const b = new Browser(product);
    await b.signIn("admin");
    const page = await b.request("GET", `${builder}/tokens`);
    const created = await b.request("POST", `${builder}/tokens`, {
      _csrf: b.csrf(page.html),
      user: "acme",
      owner: monitorOwner(),
      role: "monitor",
      sites: "site-01",
      expires: inDays(30),
    });
    const token = /data-new-token[^>]*>[\s\S]*?<code>([^<]+)<\/code>/.exec(created.html)?.[1] ?? "";
    expect(token).toMatch(/^edc_/);
    const row = created.html.split("<tr ").find((r) => r.includes("<td>acme (service)</td>")) ?? "";
    const id = /data-token="([0-9a-f]{12})"/.exec(row)?.[1] ?? "";
    const use = () =>
      product.env.app.request("/api/v1/studies/hucmsc-ms-nmo/subjects", {
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await use()).status).toBe(200);
    const revoked = await b.request("POST", `${builder}/tokens/${id}/revoke`, {
      _csrf: b.csrf(created.html),
    });
    expect(revoked.status).toBe(303);
    expect((await use()).status).toBe(401);
    expect((await b.request("GET", `${builder}/tokens`)).html).toContain("revoked");
  });
});
