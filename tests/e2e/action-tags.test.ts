import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { withStudyVariant } from "../integration/harness.ts";
import { describeInBrowser, type E2E, formUrl, STUDY, startE2E } from "./browser.ts";

/**
 * Issue 14 item 3 in the browser: the reference study with action tags added
 * (premedication "none" excludes the others, the visit date opens as today,
 * the temperature is hidden, the heart rate read-only).
 */

function taggedForms(): string {
  return withStudyVariant((edit) => {
    const tag = (form: string, tags: Record<string, Record<string, unknown>>) =>
      edit(form, (properties) => {
        for (const [field, add] of Object.entries(tags)) {
          const schema = properties[field];
          if (!schema) throw new Error(`${form} has no field ${field}`);
          Object.assign(schema, add);
        }
      });
    tag("infusion", { premedication: { "x-none-of-the-above": ["none"] } });
    tag("vital_signs", {
      vs_date: { "x-default": "today" },
      temperature: { "x-hidden": true },
      heart_rate: { "x-readonly": true },
    });
  });
}

let e2e: E2E;
let page: Page;

describeInBrowser("action tags in the form page", () => {
  beforeAll(async () => {
    e2e = await startE2E({ formsDir: taggedForms() });
    ({ page } = await e2e.signedInPage("site-01"));
  });
  afterEach(() => e2e.assertAccessible());
  afterAll(async () => {
    await e2e?.close();
  });

  it("opens with today's date, hides the temperature and keeps its value, shows the heart rate read-only", async () => {
    const subject = await e2e.enrol();
    const saved = await e2e.api(
      "site-01",
      "PUT",
      `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs`,
      {
        data: { temperature: 36.6, heart_rate: 72 },
        status: "incomplete",
        rev: 0,
      },
    );
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    await page.goto(formUrl(subject, "screening", "vital_signs"));
    // A saved instance: no default over it; the hidden temperature is out of sight but kept.
    expect(await page.locator("#f-vs_date").inputValue()).toBe("");
    expect(await page.locator("[data-field=temperature]").isVisible()).toBe(false);
    expect(await page.locator("#f-heart_rate").textContent()).toBe("72");
    await page.locator("#f-systolic_bp").click();
    await page.keyboard.type("120", { delay: 90 });
    await page.locator("button[name=_status][value=incomplete]").click();
    await page.waitForURL(/saved=2/);
    const after = await e2e.api(
      "site-01",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs`,
    );
    expect(after.body.data).toEqual({ temperature: 36.6, heart_rate: 72, systolic_bp: 120 });

    const other = await e2e.enrol();
    await page.goto(formUrl(other, "screening", "vital_signs"));
    expect(await page.locator("#f-vs_date").inputValue()).toBe(new Date().toISOString().slice(0, 10));
  });

  it("ticking 'None' unticks the other premedications, and another one unticks 'None'", async () => {
    const subject = await e2e.enrol();
    await page.goto(formUrl(subject, "iv_1", "infusion"));
    const box = (code: string) => page.locator(`input[name=premedication][value=${code}]`);
    await box("paracetamol").check();
    await box("antihistamine").check();
    await box("none").check();
    expect(await box("none").isChecked()).toBe(true);
    expect(await box("paracetamol").isChecked()).toBe(false);
    expect(await box("antihistamine").isChecked()).toBe(false);
    await box("corticosteroid").check();
    expect(await box("none").isChecked()).toBe(false);
    await page.locator("button[name=_status][value=incomplete]").click();
    await page.waitForURL(/saved=1/);
    const after = await e2e.api(
      "site-01",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/iv_1/forms/infusion`,
    );
    expect(after.body.data.premedication).toEqual(["corticosteroid"]);
  });
});
