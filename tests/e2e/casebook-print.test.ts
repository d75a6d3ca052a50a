import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { appendReview } from "../../functions/store/review-log.ts";
import { describeInBrowser, type E2E, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * The printable casebook in Chromium: printed, the page chrome is gone and
 * each visit starts a sheet; `page.pdf()` makes the PDF a person would save.
 */

let e2e: E2E;
let subject = "";

beforeAll(async () => {
  e2e = await startE2E();
  subject = (await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, { site: "site-01", arm: "rrms" }))
    .body.id;
  const form = `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs/instances/1`;
  expect(
    (await e2e.api("site-01", "PUT", form, { data: { heart_rate: 70 }, status: "incomplete", rev: 0 }))
      .status,
  ).toBe(200);
  const { store } = e2e.env;
  await appendReview(store.db, store.macKey, {
    study: STUDY,
    subject,
    site: "site-01",
    by: "dev-monitor",
    target: { event: "screening", form: "vital_signs", instance: 1, field: "heart_rate" },
    action: "query-open",
    query: "q1",
    text: "70 at rest, really?",
  });
}, 60_000);
afterEach(() => e2e.assertAccessible());
afterAll(() => e2e?.close());

describeInBrowser("the printable casebook", () => {
  it("prints without the page chrome, each visit on its own sheet, and saves as PDF", async () => {
    const context = await e2e.context();
    const page = await context.newPage();
    await signIn(page, e2e.env.tokens.monitor?.token ?? "");
    await page.goto(`/studies/${STUDY}/subjects/${subject}`);
    await page.getByRole("link", { name: "Printable casebook" }).click();
    await page.waitForURL(`**/subjects/${subject}/casebook/print`);
    await expect
      .poll(() => page.getByRole("heading", { name: `Casebook of subject ${subject}` }).isVisible())
      .toBe(true);
    expect(await page.locator("header.top").isVisible()).toBe(true);
    expect(await page.getByText("Query opened (q1)").first().isVisible()).toBe(true);

    await page.emulateMedia({ media: "print" });
    expect(await page.locator("header.top").isVisible()).toBe(false);
    expect(await page.locator(".no-print").isVisible()).toBe(false);
    const breaks = await page
      .locator("section.visit")
      .evaluateAll((sections) => sections.map((s) => getComputedStyle(s).breakBefore));
    expect(breaks.length).toBeGreaterThan(3);
    expect(new Set(breaks)).toEqual(new Set(["page"]));

    const pdf = await page.pdf({ format: "A4" });
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    // One sheet per visit at least: the root of the page tree counts them all (nested nodes count fewer).
    const counts = [...pdf.toString("latin1").matchAll(/\/Type\s*\/Pages[^>]*?\/Count (\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(Math.max(0, ...counts)).toBeGreaterThanOrEqual(breaks.length);
    await context.close();
  });
});
