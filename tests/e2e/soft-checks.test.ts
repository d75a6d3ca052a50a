import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { readReviewLog } from "../../functions/store/review-log.ts";
import { describeInBrowser, type E2E, formUrl, STUDY, startE2E } from "./browser.ts";

/** Issue 12 item 2 in the browser: a 42.3 °C temperature is a warning, confirmed, saved, queried. */

let e2e: E2E;
let page: Page;

describeInBrowser("soft checks in the form page", () => {
  beforeAll(async () => {
    e2e = await startE2E();
    ({ page } = await e2e.signedInPage("site-01"));
  });
  afterEach(() => e2e.assertAccessible());
  afterAll(async () => {
    await e2e?.close();
  });

  it("shows 42.3 °C as a warning while typing, asks to confirm it, then saves it with a query", async () => {
    const subject = await e2e.enrol();
    await page.goto(formUrl(subject, "screening", "vital_signs"));
    await page.locator("#f-heart_rate").fill("72");
    await page.locator("#f-temperature").fill("42.3");
    await page.locator("#f-heart_rate").focus();
    await expect.poll(() => page.locator("#w-temperature").textContent()).toContain("unusually high");
    expect(await page.locator("#e-temperature").textContent()).toBe("");
    expect(await page.locator("#f-temperature").getAttribute("aria-invalid")).toBeNull();

    // The script does not block a warning: the server answers with a box to confirm it.
    await page.locator("button[name=_status][value=incomplete]").click();
    await page.waitForSelector("[data-warnings]");
    expect(await page.locator("#f-temperature").inputValue()).toBe("42.3");
    await page.locator("input[name=_confirm][value='/temperature']").check();
    await page.locator("button[name=_status][value=incomplete]").click();
    await page.waitForURL(/saved=1/);
    const entries = await readReviewLog(e2e.env.store.db, STUDY, subject);
    expect(entries).toEqual([
      expect.objectContaining({
        action: "query-open",
        rule: "x-soft-maximum",
        target: expect.objectContaining({ field: "temperature" }),
      }),
    ]);
  });

  it("a missing-data code is chosen with the keyboard and saved with its reason", async () => {
    const subject = await e2e.enrol();
    await page.goto(formUrl(subject, "screening", "vital_signs"));
    await page.locator("[data-missing=temperature] summary").focus();
    await page.keyboard.press("Enter");
    await page.locator("#m-temperature").focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    expect(await page.locator("#m-temperature").inputValue()).toBe("UNK");
    await page.locator("#mr-temperature").fill("Thermometer broken");
    await page.locator("button[name=_status][value=incomplete]").click();
    await page.waitForURL(/saved=1/);
    const saved = await e2e.api(
      "site-01",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs`,
    );
    expect(saved.body.missing).toEqual({ temperature: { code: "UNK", reason: "Thermometer broken" } });
  });
});
