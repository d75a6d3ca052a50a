import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import { BASE, type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
let own: string; // a site-01 subject
let other: string; // a site-02 subject

beforeAll(async () => {
  product = await startProduct();
  // Tokens scoped to site-01 for every role, beside the dev tokens.
  for (const role of ["builder", "monitor", "sponsor"] as const) {
    const token = `test-${role}-site-01`;
    product.env.tokens[`${role}-site-01`] = await storeDevKey(product.env.store, token, {
      user: `${role}-01`,
      role,
      study: product.env.studyId,
      sites: ["site-01"],
    });
  }
  own = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
  other = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
  await product.save(other, "screening", "edss", { data: { edss_total: 2 } }, { as: "site-02" });
  await product.save(
    other,
    "logs",
    "adverse_event",
    { data: { ae_term: "Fever" } },
    { as: "site-02", instance: 1 },
  );
});
afterAll(() => product.close());

const subjectRoutes = (s: string) => [
  ["GET", `${BASE}/subjects/${s}`],
  ["GET", `${BASE}/subjects/${s}/audit`],
  ["GET", `${BASE}/subjects/${s}/events/screening/forms/edss`],
  ["GET", `${BASE}/subjects/${s}/events/logs/forms/adverse_event/instances/1`],
  ["PUT", `${BASE}/subjects/${s}/events/screening/forms/edss`],
  ["PUT", `${BASE}/subjects/${s}/events/logs/forms/adverse_event/instances/1`],
];

const SCOPED = ["site-01", "builder-site-01", "monitor-site-01", "sponsor-site-01"];

describe("site isolation", () => {
  for (const as of SCOPED) {
    it(`answers a ${as} token about a site-02 subject exactly as about a subject that does not exist`, async () => {
      const before = await product.snapshot();
      for (const [method, path] of subjectRoutes(other)) {
        const body = method === "PUT" ? { data: { edss_total: 3 }, status: "incomplete", rev: 1 } : undefined;
        const hidden = await product.call(method as string, path as string, { as, body });
        const missingPath = (path as string).replace(other, "99-999");
        const missing = await product.call(method as string, missingPath, { as, body });
        // A role that may never write is refused before the subject is looked up (403 for both);
        // otherwise the hidden subject is a 404 like a missing one. Either way: the same answer.
        const expected = method === "PUT" && as !== "site-01" ? 403 : 404;
        expect(hidden.status, `${method} ${path}`).toBe(expected);
        expect(missing.status, `${method} ${missingPath}`).toBe(expected);
        expect(hidden.contentType).toContain("application/problem+json");
        expect({ ...hidden.body, instance: undefined, detail: undefined }).toEqual({
          ...missing.body,
          instance: undefined,
          detail: undefined,
        });
        expect(JSON.stringify(hidden.body)).not.toContain("site-02");
      }
      expect(await product.snapshot()).toEqual(before);
    });

    it(`lists only site-01 subjects to a ${as} token`, async () => {
      const res = await product.call("GET", `${BASE}/subjects`, { as });
      expect(res.status).toBe(200);
      const ids = res.body.subjects.map((s: { id: string }) => s.id);
      expect(ids).toContain(own);
      expect(ids).not.toContain(other);
      expect(res.body.subjects.every((s: { site: string }) => s.site === "site-01")).toBe(true);
    });
  }

  it("lets a site-01 user read and write its own subjects", async () => {
    for (const [method, path] of subjectRoutes(own)) {
      const body = method === "PUT" ? { data: {}, status: "incomplete", rev: 0 } : undefined;
      const res = await product.call(method as string, path as string, { as: "site-01", body });
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });

  it("lets all-site monitor, sponsor and builder tokens read both sites but never write data", async () => {
    for (const as of ["monitor", "sponsor", "builder"]) {
      const list = await product.call("GET", `${BASE}/subjects`, { as });
      expect(list.body.subjects.map((s: { id: string }) => s.id)).toEqual(
        expect.arrayContaining([own, other]),
      );
      const read = await product.call("GET", `${BASE}/subjects/${other}/audit`, { as });
      expect(read.status).toBe(200);
      const write = await product.call("PUT", product.formPath(other, "screening", "edss"), {
        as,
        body: { data: { edss_total: 3 }, status: "incomplete", rev: 1 },
      });
      expect(write.status).toBe(403);
      const enrol = await product.call("POST", `${BASE}/subjects`, {
        as,
        body: { site: "site-01", arm: "rrms" },
      });
      expect(enrol.status).toBe(403);
    }
  });

  it("does not let a site-01 user enrol at site-02", async () => {
    const before = await product.snapshot();
    const res = await product.call("POST", `${BASE}/subjects`, {
      as: "site-01",
      body: { site: "site-02", arm: "rrms" },
    });
    expect(res.status).toBe(403);
    expect(await product.snapshot()).toEqual(before);
  });

  // Issue 8 item 10: an explicit id carries the enrolling site's code, and another site's ids are not probed.
  it("refuses a site-01 enrolment with another site's id, answering alike whether that id is taken or free", async () => {
    expect(other).toBe("02-001");
    const before = await product.snapshot();
    const attempt = (subjectId: string) =>
      product.call("POST", `${BASE}/subjects`, {
        as: "site-01",
        body: { site: "site-01", arm: "rrms", subjectId },
      });
    const taken = await attempt("02-001");
    const free = await attempt("02-002");
    const squat = await attempt("02-777");
    for (const res of [taken, free, squat]) {
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([
        expect.objectContaining({ pointer: "/subjectId", code: "site-code" }),
      ]);
    }
    const same = (res: { body: unknown }, id: string) => JSON.stringify(res.body).replaceAll(id, "<id>");
    expect(same(taken, "02-001")).toBe(same(free, "02-002"));
    expect(await product.snapshot()).toEqual(before);
    const mine = await attempt("01-777");
    expect(mine.status).toBe(201);
    expect(mine.body.id).toBe("01-777");
  });

  it("applies the same rule to the web enrolment form", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", "/studies/hucmsc-ms-nmo/enrol");
    const post = (subjectId: string) =>
      b.request("POST", "/studies/hucmsc-ms-nmo/enrol", {
        site: "site-01",
        arm: "rrms",
        subjectId,
        _csrf: b.csrf(page.html),
      });
    const before = await product.snapshot();
    const taken = await post("02-001");
    const free = await post("02-003");
    expect(taken.status).toBe(422);
    expect(free.status).toBe(422);
    expect(taken.html).toContain('id="e-subjectId"');
    expect(taken.html.replaceAll("02-001", "<id>")).toBe(free.html.replaceAll("02-003", "<id>"));
    expect(await product.snapshot()).toEqual(before);
    const mine = await post("01-778");
    expect(mine.status).toBe(303);
    expect(mine.location).toBe("/studies/hucmsc-ms-nmo/subjects/01-778");
  });

  it("refuses a token of another study as if the study did not exist", async () => {
    product.env.tokens.other = await storeDevKey(product.env.store, "other-study", {
      user: "x",
      role: "coordinator",
      study: "other",
      sites: [ALL_SITES],
    });
    const res = await product.call("GET", `${BASE}/subjects/${own}`, { as: "other" });
    expect(res.status).toBe(404);
  });

  it("requires a valid bearer token on every route", async () => {
    for (const [method, path] of [...subjectRoutes(own), ["GET", BASE], ["GET", `${BASE}/subjects`]]) {
      const res = await product.call(method as string, path as string);
      expect(res.status).toBe(401);
      expect(res.contentType).toContain("application/problem+json");
    }
    const revoked = await product.env.app.request(`${BASE}/subjects`, {
      headers: { authorization: "Bearer nope" },
    });
    expect(revoked.status).toBe(401);
  });

  it("counts only the caller's sites in the audit verification, not how many subjects another site has", async () => {
    // Three more site-02 subjects, with saves: site-02 now has several times site-01's records.
    for (let i = 0; i < 3; i++) {
      const subject = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
      await product.save(subject, "screening", "edss", { data: { edss_total: 3 } }, { as: "site-02" });
    }
    const all = await product.call("GET", `${BASE}/audit/verify`, { as: "monitor" });
    const mine = await product.call("GET", `${BASE}/audit/verify`, { as: "monitor-site-01" });
    expect(all.status).toBe(200);
    expect(mine.status).toBe(200);
    const subjects = await product.call("GET", `${BASE}/subjects`, { as: "monitor-site-01" });
    expect(mine.body.counts.subjects).toBe(subjects.body.subjects.length);
    expect(all.body.counts.subjects).toBeGreaterThan(mine.body.counts.subjects);
    // The site-02 chains and their entries are not in site-01's counts either.
    expect(mine.body.counts.chains).toBeLessThan(all.body.counts.chains);
    expect(mine.body.counts.entries).toBeLessThan(all.body.counts.entries);
  });
});
