import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendReview, type ReviewRequest } from "../../functions/store/review-log.ts";
import { type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * The printable casebook: one subject's data per visit and form, its review
 * record (queries with their messages, verification, locks, signatures,
 * status) and its audit trail on one page, within the reader's sites, with a
 * print stylesheet that drops the page chrome and starts each visit on a new
 * sheet. Review entries are appended directly (their workflows are built
 * elsewhere).
 */
let product: Product;
let subject: string;
const study = "/studies/hucmsc-ms-nmo";
const MEANING = "I attest that the data in this casebook are accurate and complete";
const vitals = { event: "screening", form: "vital_signs", instance: 1 };

type Request = ReviewRequest extends infer R ? (R extends unknown ? Omit<R, "study"> : never) : never;
const append = (request: Request) =>
  appendReview(product.env.store.db, product.env.store.macKey, {
    study: product.env.studyId,
    ...request,
  } as ReviewRequest);

beforeAll(async () => {
  product = await startProduct();
  subject = await product.enrol();
  for (const [rev, heart_rate] of [70, 72].entries()) {
    const res = await product.save(subject, "screening", "vital_signs", { data: { heart_rate }, rev });
    if (res.status !== 200) throw new Error(`save: ${JSON.stringify(res.body)}`);
  }
  const on = { subject, site: "site-01" };
  const field = { ...vitals, field: "heart_rate" };
  await append({
    ...on,
    by: "dev-monitor",
    target: field,
    action: "query-open",
    query: "q1",
    text: "70 at rest, really?",
  });
  await append({
    ...on,
    by: "dev-site-01",
    target: field,
    action: "query-answer",
    query: "q1",
    text: "Misread: 72 in the source",
    correction: { ...vitals, rev: 2 },
  });
  await append({ ...on, by: "dev-monitor", target: field, action: "query-close", query: "q1" });
  await append({
    ...on,
    by: "dev-monitor",
    target: vitals,
    action: "verify",
    covers: [{ ...vitals, rev: 2 }],
  });
  await append({
    ...on,
    by: "dev-data-manager",
    target: { event: "screening" },
    action: "lock",
    reason: "Visit reviewed",
  });
  await append({
    ...on,
    by: "dev-investigator",
    target: {},
    action: "sign",
    name: "Dr Ada Lovelace",
    meaning: MEANING,
    authenticatedAt: new Date().toISOString(),
    covers: [{ ...vitals, rev: 2 }],
  });
  await append({
    ...on,
    by: "dev-site-01",
    target: {},
    action: "subject-status",
    status: "withdrawn",
    date: "2026-05-01",
    reason: "Moved abroad",
  });
  await append({
    by: "dev-data-manager",
    target: {},
    action: "lock",
    reason: "Freeze before the interim analysis",
  });
}, 60_000);
afterAll(() => product.close());

async function printed(as: string, who = subject) {
  const b = new Browser(product);
  await b.signIn(as);
  return b.request("GET", `${study}/subjects/${who}/casebook/print`);
}

/** The page's main text, tags dropped and white space folded. */
const text = (html: string) =>
  html
    .slice(html.indexOf("<main"))
    .replace(/<\/?(strong|span)\b[^>]*>/g, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");

describe("the printable casebook", () => {
  it("shows the data per visit and form, with each field's query beside it", async () => {
    const res = await printed("monitor");
    expect(res.status).toBe(200);
    const page = text(res.html);
    expect(page).toContain(`Casebook of subject ${subject}`);
    expect(page).toMatch(/Screening \(days -28 to -1\) .*Vital signs · Incomplete · revision 2/);
    expect(page).toMatch(/Heart rate 72 bpm .*Query opened \(q1\): 70 at rest, really\? — now closed/);
    expect(page).toContain("Query answered (q1): Misread: 72 in the source (corrected in revision 2)");
    expect(page).toContain("Query closed (q1)");
    expect(page).toMatch(/Source data verified \(revisions vital_signs #1 rev 2\)/);
    expect(page).toContain("Locked: Visit reviewed");
  });

  it("shows the casebook's signature, status and the study's freeze, and the audit trail with old → new", async () => {
    const page = text((await printed("site-01")).html);
    expect(page).toContain(`Signed by Dr Ada Lovelace: “${MEANING}”`);
    expect(page).not.toContain("invalidated");
    expect(page).toContain("Status: withdrawn on 2026-05-01: Moved abroad");
    expect(page).toContain("Locked: Freeze before the interim analysis");
    expect(page).toMatch(/Audit trail .*Enrolled .*Heart rate: — → 70 bpm .*Heart rate: 70 bpm → 72 bpm/);
    // The review record lists all eight entries in order, each with what it concerns.
    const record = page.slice(page.indexOf("Review record"), page.indexOf("Audit trail"));
    expect(record.match(/ · dev-[a-z0-9-]+ · /g)).toHaveLength(7);
    expect(record).toContain("Heart rate · Vital signs · Screening (days -28 to -1)");
  });

  it("prints without the page chrome, each visit on a new sheet", async () => {
    const { html } = await printed("monitor");
    expect(html).toMatch(/@media print\{header\.top,\.no-print\{display:none\}/);
    expect(html).toContain(".casebook-print .visit{break-before:page}");
    expect((html.match(/<section class="visit">/g) ?? []).length).toBeGreaterThan(3);
    expect(html).toContain('class="no-print"');
  });

  it("marks the signature and the verification as no longer current after a later change", async () => {
    // The freeze and the visit's lock hold the form: a change needs both lifted, with reasons (kept in the record).
    expect(
      (await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 74 }, rev: 2 })).status,
    ).toBe(423);
    await append({ by: "dev-data-manager", target: {}, action: "unlock", reason: "Query from the analysts" });
    await append({
      subject,
      site: "site-01",
      by: "dev-data-manager",
      target: { event: "screening" },
      action: "unlock",
      reason: "Late lab letter",
    });
    const res = await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 74 }, rev: 2 });
    expect(res.status).toBe(200);
    const page = text((await printed("monitor")).html);
    expect(page).toMatch(
      /— invalidated by a later change \(vital_signs #1 changed in revision 3, .* UTC by dev-site-01\)/,
    );
    expect(page).toContain("— changed since, needs re-verification");
    expect(page).toContain("Heart rate: 72 bpm → 74 bpm");
    expect(page).toContain("Late lab letter");
  });

  it("is linked from the subject page", async () => {
    const b = new Browser(product);
    await b.signIn("monitor");
    const res = await b.request("GET", `${study}/subjects/${subject}`);
    expect(res.html).toContain(`href="${study}/subjects/${subject}/casebook/print"`);
  });

  it("is a 404 outside the reader's sites", async () => {
    expect((await printed("site-02")).status).toBe(404);
    expect((await printed("site-01")).status).toBe(200);
  });
});
