import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { BASE, Product, STUDY } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Subject status through the API and the subject page: the transitions and
 * their refusals, the audit (review log, change feed, flat export), and the
 * schedule: a withdrawn subject's visits stop being overdue on the dashboard
 * and the subject page.
 */

let product: Product;
let withdrawn: string;
let ongoing: string;
const study = `/studies/${STUDY}`;

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const overdueCount = (html: string) => Number(/(\d+) overdue visits?/.exec(html)?.[1] ?? 0);
const subjectsIn = (html: string) => [...html.matchAll(/data-subject="([^"]+)"/g)].map((m) => m[1] as string);

const status = (subject: string, body: unknown, as = "site-01") =>
  product.call("POST", `${BASE}/subjects/${subject}/status`, { as, body });

beforeAll(async () => {
  // No settle window: the change feed shows a change at once.
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  // Day one long ago and nothing else saved: every past visit is overdue.
  for (const _ of [1, 2]) {
    const subject = await product.enrol();
    const saved = await product.save(subject, "iv_1", "infusion", {
      data: { infusion_date: daysAgo(200), route: "iv" },
    });
    expect(saved.status).toBe(200);
  }
  [withdrawn, ongoing] = (await product.call("GET", `${BASE}/subjects`, { as: "site-01" })).body.subjects.map(
    (s: { id: string }) => s.id,
  );
});
afterAll(() => product.close());

describe("subject status", () => {
  it("is enrolled until a status is recorded", async () => {
    const res = await product.call("GET", `${BASE}/subjects/${withdrawn}/status`, { as: "monitor" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ current: { status: "enrolled" }, history: [] });
  });

  it("refuses a withdrawal without its date and reason, naming both, and writes nothing", async () => {
    const before = await product.snapshot();
    const res = await status(withdrawn, { status: "withdrawn" });
    expect(res.status).toBe(422);
    expect(res.body.type).toBe("urn:edc:problem:validation");
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(["/date", "/reason"]);
    expect(await product.snapshot()).toEqual(before);
  });

  it("refuses roles that may not change it: 403 before the body is read", async () => {
    for (const as of ["monitor", "sponsor"]) {
      const res = await status(withdrawn, { status: "completed" }, as);
      expect(res.status, as).toBe(403);
    }
    expect((await status(withdrawn, { status: "completed" }, "site-02")).status).toBe(404);
  });

  it("withdraws with date and reason, audited with who and when, and then refuses moves the table forbids", async () => {
    const res = await status(withdrawn, {
      status: "withdrawn",
      date: daysAgo(3),
      reason: "consent withdrawn",
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: "withdrawn",
      date: daysAgo(3),
      reason: "consent withdrawn",
      by: "dev-site-01",
    });
    const completed = await status(withdrawn, { status: "completed" });
    expect(completed.status).toBe(409);
    expect(completed.body.type).toBe("urn:edc:problem:status-transition");
    const reopened = await status(withdrawn, { status: "enrolled" });
    expect(reopened.status).toBe(422);
    expect(reopened.body.errors[0].pointer).toBe("/reason");
    const read = await product.call("GET", `${BASE}/subjects/${withdrawn}/status`, { as: "monitor" });
    expect(read.body.current.status).toBe("withdrawn");
    expect(read.body.history).toHaveLength(1);
  });

  it("is in the change feed and the flat export", async () => {
    const feed = await product.call("GET", `${BASE}/changes?limit=500`, { as: "monitor" });
    expect(feed.status).toBe(200);
    const entries = JSON.stringify(feed.body);
    expect(entries).toContain('"action":"subject-status"');
    expect(entries).toContain('"status":"withdrawn"');
    const records = await product.call("GET", `${BASE}/records?format=json`, { as: "monitor" });
    const rows = records.body as { record_id: string; subject_status: string }[];
    expect(new Set(rows.filter((r) => r.record_id === withdrawn).map((r) => r.subject_status))).toEqual(
      new Set(["withdrawn"]),
    );
    expect(new Set(rows.filter((r) => r.record_id === ongoing).map((r) => r.subject_status))).toEqual(
      new Set(["enrolled"]),
    );
  });

  it("stops counting a withdrawn subject's overdue visits on the dashboard and the subject page", async () => {
    const b = new Browser(product);
    await b.signIn("monitor");
    const dashboard = await b.request("GET", study);
    expect(dashboard.status).toBe(200);
    const overdue = overdueCount(dashboard.html);
    expect(overdue).toBeGreaterThan(0);
    expect(subjectsIn((await b.request("GET", `${study}?timing=overdue`)).html)).toEqual([ongoing]);
    expect(dashboard.html).toContain(`data-status="withdrawn"`);
    const page = await b.request("GET", `${study}/subjects/${withdrawn}`);
    expect(page.html).toContain(`data-subject-status="withdrawn"`);
    expect(page.html).not.toMatch(/class="badge t-overdue"/);
    const other = await b.request("GET", `${study}/subjects/${ongoing}`);
    expect(other.html).toMatch(/class="badge t-overdue"/);

    // Completing the other subject leaves no overdue visit at all.
    expect((await status(ongoing, { status: "completed", date: daysAgo(0) })).status).toBe(201);
    expect(overdueCount((await b.request("GET", study)).html)).toBe(0);
  });

  it("is changed on the subject page, and a refusal is shown beside the form", async () => {
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", `${study}/subjects/${ongoing}`);
    expect(page.html).toContain("Change status…");
    const csrf = b.csrf(page.html);
    const refused = await b.request("POST", `${study}/subjects/${ongoing}/status`, {
      _csrf: csrf,
      status: "enrolled",
    });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain("needs a reason");
    const changed = await b.request("POST", `${study}/subjects/${ongoing}/status`, {
      _csrf: csrf,
      status: "enrolled",
      reason: "completion recorded by mistake",
    });
    expect(changed.status).toBe(303);
    const after = await b.request("GET", `${study}/subjects/${ongoing}`);
    expect(after.html).toContain(`data-subject-status="enrolled"`);
    expect(after.html).toContain("completion recorded by mistake");
    const monitor = new Browser(product);
    await monitor.signIn("monitor");
    expect((await monitor.request("GET", `${study}/subjects/${ongoing}`)).html).not.toContain(
      "Change status…",
    );
  });
});
