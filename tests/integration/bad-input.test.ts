import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE, type Product, STUDY, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
let subject: string;
beforeAll(async () => {
  product = await startProduct();
  subject = await product.enrol();
});
afterAll(() => product.close());

const edss = () => product.formPath(subject, "screening", "edss");
const valid = { data: { edss_total: 2 }, status: "incomplete", rev: 0 };

interface Case {
  name: string;
  method?: string;
  path: () => string;
  raw?: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  pointer?: string;
}

const cases: Case[] = [
  { name: "malformed JSON", path: edss, raw: '{"data": {"edss_total": 2', status: 400 },
  { name: "a JSON array instead of an object", path: edss, raw: "[1,2]", status: 400 },
  { name: "an unknown top-level field", path: edss, body: { ...valid, extra: 1 }, status: 400 },
  { name: "a missing status", path: edss, body: { data: {}, rev: 0 }, status: 400, pointer: "/status" },
  {
    name: "an unknown status",
    path: edss,
    body: { ...valid, status: "done" },
    status: 400,
    pointer: "/status",
  },
  { name: "a negative revision", path: edss, body: { ...valid, rev: -1 }, status: 400, pointer: "/rev" },
  { name: "a revision as a string", path: edss, body: { ...valid, rev: "0" }, status: 400, pointer: "/rev" },
  {
    name: "data that is not an object",
    path: edss,
    body: { ...valid, data: [1] },
    status: 400,
    pointer: "/data",
  },
  {
    name: "an unknown form field",
    path: edss,
    body: { ...valid, data: { edss_totl: 2 } },
    status: 422,
    pointer: "/edss_totl",
  },
  {
    name: "a string for a number",
    path: edss,
    body: { ...valid, data: { edss_total: "2" } },
    status: 422,
    pointer: "/edss_total",
  },
  {
    name: "an integer field given a fraction",
    path: edss,
    body: { ...valid, data: { fs_visual: 1.5 } },
    status: 422,
    pointer: "/fs_visual",
  },
  {
    name: "a value out of range",
    path: edss,
    body: { ...valid, data: { fs_visual: 7 } },
    status: 422,
    pointer: "/fs_visual",
  },
  {
    name: "an impossible date",
    path: edss,
    body: { ...valid, data: { assessment_date: "2024-02-30" } },
    status: 422,
    pointer: "/assessment_date",
  },
  {
    name: "an object as a field value",
    path: edss,
    body: { ...valid, data: { edss_total: { $gt: 1 } } },
    status: 422,
    pointer: "/edss_total",
  },
  { name: "a body over 256 KB", path: edss, body: { ...valid, reason: "x".repeat(300 * 1024) }, status: 413 },
  {
    name: "a text/plain body",
    path: edss,
    raw: JSON.stringify(valid),
    headers: { "content-type": "text/plain" },
    status: 415,
  },
  {
    name: "an unknown study",
    path: () => `/api/v1/studies/nope/subjects/${subject}/events/screening/forms/edss`,
    body: valid,
    status: 404,
  },
  {
    name: "an unknown subject",
    path: () => product.formPath("99-999", "screening", "edss"),
    body: valid,
    status: 404,
  },
  {
    name: "an unknown event",
    path: () => product.formPath(subject, "m99", "edss"),
    body: valid,
    status: 404,
  },
  {
    name: "a form not collected at the event",
    path: () => product.formPath(subject, "iv_1", "edss"),
    body: valid,
    status: 404,
  },
  {
    name: "an unknown form",
    path: () => product.formPath(subject, "screening", "nope"),
    body: valid,
    status: 404,
  },
  {
    name: "instance 0 of a log",
    path: () => product.formPath(subject, "logs", "adverse_event", 0),
    body: valid,
    status: 404,
  },
  {
    name: "a non-numeric instance",
    path: () => `${product.formPath(subject, "logs", "adverse_event")}/instances/x`,
    body: valid,
    status: 404,
  },
  {
    name: "a 5,000-character subject id (too long for any key)",
    path: () => product.formPath("0".repeat(5000), "screening", "edss"),
    body: valid,
    status: 404,
  },
  { name: "an unknown route", path: () => `${BASE}/nothing-here`, body: valid, status: 404 },
  {
    name: "an enrolment with an unknown arm",
    method: "POST",
    path: () => `${BASE}/subjects`,
    body: { site: "site-01", arm: "placebo" },
    status: 422,
    pointer: "/arm",
  },
  {
    name: "an enrolment with a subject id off the study's pattern",
    method: "POST",
    path: () => `${BASE}/subjects`,
    body: { site: "site-01", arm: "rrms", subjectId: "ABC" },
    status: 422,
    pointer: "/subjectId",
  },
  {
    name: "an enrolment with an unknown site",
    method: "POST",
    path: () => `${BASE}/subjects`,
    body: { site: "site-99", arm: "rrms" },
    status: 422,
    pointer: "/site",
  },
];

describe("bad input", () => {
  for (const c of cases) {
    it(`answers ${c.name} with ${c.status} problem+json and writes nothing`, async () => {
      const before = await product.snapshot();
      const headers: Record<string, string> = {
        authorization: `Bearer ${product.token("site-01")}`,
        "content-type": "application/json",
        ...c.headers,
      };
      const res = await product.env.app.request(c.path(), {
        method: c.method ?? "PUT",
        headers,
        body: c.raw ?? JSON.stringify(c.body),
      });
      expect(res.status).toBe(c.status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = await res.json();
      expect(problem).toMatchObject({
        status: c.status,
        type: expect.stringMatching(/^urn:edc:problem:/),
        title: expect.any(String),
      });
      if (c.pointer) expect(problem.errors.map((e: { pointer: string }) => e.pointer)).toContain(c.pointer);
      expect(await product.snapshot()).toEqual(before);
    });
  }

  it("refuses a duplicate subject id with 409", async () => {
    const first = await product.call("POST", `${BASE}/subjects`, {
      as: "site-01",
      body: { site: "site-01", arm: "rrms", subjectId: "01-500" },
    });
    expect(first.status).toBe(201);
    const again = await product.call("POST", `${BASE}/subjects`, {
      as: "site-01",
      body: { site: "site-01", arm: "nmo", subjectId: "01-500" },
    });
    expect(again.status).toBe(409);
    const kept = await product.call("GET", `${BASE}/subjects/01-500`, { as: "site-01" });
    expect(kept.body.arm).toBe("rrms");
  });

  it("answers a subject id too long for any key with 404 on every route that takes one", async () => {
    const long = "0".repeat(5000);
    const paths = [
      `${BASE}/subjects/${long}`,
      `${BASE}/subjects/${long}/audit`,
      product.formPath(long, "screening", "edss"),
    ];
    for (const path of paths) {
      const res = await product.call("GET", path, { as: "site-01" });
      expect([400, 404], `${path.slice(0, 80)}: ${JSON.stringify(res.body).slice(0, 200)}`).toContain(
        res.status,
      );
      expect(res.contentType).toBe("application/problem+json");
    }
    // As an export filter, a subject that cannot exist selects nothing, like any other unknown subject.
    for (const path of [`${BASE}/records?subjects=${long}`, `${BASE}/odm?subjects=${long}`]) {
      const res = await product.call("GET", path, { as: "site-01" });
      expect(res.status).toBe(200);
      expect(String(res.body)).not.toContain(long);
    }
    const web = new Browser(product);
    await web.signIn("site-01");
    const page = await web.request("GET", `/studies/${STUDY}/subjects/${long}`);
    expect(page.status).toBe(404);
  });

  it("streams a body over the limit without a content-length and still refuses it", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 5) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await product.env.app.request(edss(), {
      method: "PUT",
      headers: { authorization: `Bearer ${product.token("site-01")}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });
});

describe("the OpenAPI document", () => {
  it("is served without a token and describes every route", async () => {
    const res = await product.env.app.request("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/studies/{study}",
        "/studies/{study}/subjects",
        "/studies/{study}/subjects/{subject}",
        "/studies/{study}/subjects/{subject}/audit",
        "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}",
        "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}",
      ]),
    );
    expect(doc.components.schemas.SaveFormInstance.required).toEqual(
      expect.arrayContaining(["data", "status", "rev"]),
    );
  });

  it("serves the current study definition to any role", async () => {
    for (const as of ["site-01", "builder", "monitor", "sponsor"]) {
      const res = await product.call("GET", BASE, { as });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe("hucmsc-ms-nmo");
      expect(res.body.events.map((e: { id: string }) => e.id)).toContain("y10");
      expect(res.body.instruments.edss.properties.edss_total).toBeDefined();
    }
  });
});
