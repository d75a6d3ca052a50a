import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { a11yViolations, describeInBrowser, type E2E, formUrl, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * Issue 9 items 5 and 7 in Chromium: a saved form shows the calculation it
 * holds, not what a later weight would give (and the script does not change
 * it on load); storing the new value takes a click and a reason. A monitor
 * reads values and has nothing to type into.
 */

let e2e: E2E;
let subject = "";
const INFUSION = {
  infusion_date: "2026-01-05",
  route: "iv",
  dose_cells: 100,
  cell_viability: 95,
  premedication: ["none"],
  start_time: "09:00",
  stop_time: "10:00",
  infusion_reaction: false,
};

beforeAll(async () => {
  e2e = await startE2E();
  const enrolled = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
    site: "site-01",
    arm: "rrms",
  });
  subject = enrolled.body.id;
  const form = (event: string, name: string, instance = 1) =>
    `/studies/${STUDY}/subjects/${subject}/events/${event}/forms/${name}/instances/${instance}`;
  const save = (event: string, name: string, data: unknown, status = "incomplete") =>
    e2e.api("site-01", "PUT", form(event, name), { data, status, rev: 0 });
  expect((await save("iv_1", "vital_signs", { weight: 101 })).status).toBe(200);
  expect((await save("iv_1", "infusion", INFUSION, "complete")).status).toBe(200);
  expect((await save("unscheduled", "vital_signs", { weight: 99 })).status).toBe(200);
}, 60_000);
afterAll(() => e2e?.close());

async function signedIn(as: string): Promise<Page> {
  const context = await e2e.context();
  const page = await context.newPage();
  await signIn(page, e2e.env.tokens[as]?.token ?? "");
  return page;
}

const calcText = async (page: Page) =>
  ((await page.locator('output[data-calc="dose_per_kg"]').textContent()) ?? "").trim();

describeInBrowser("stored values and read-only views in Chromium", () => {
  it("lets a monitor read the form but not type into it", async () => {
    const page = await signedIn("monitor");
    await page.goto(formUrl(subject, "iv_1", "infusion"));
    expect(await page.locator("main .notice", { hasText: "Read only" }).isVisible()).toBe(true);
    // Outside the queries section: a monitor's query is stored, as a query.
    const outsideQueries = ":not(#queries *)";
    const controls = page.locator(
      [
        "main input:not([type=hidden]):not([disabled])",
        "main select:not([disabled])",
        "main textarea:not([disabled])",
        "main button:not([disabled])",
      ]
        .map((selector) => `${selector}${outsideQueries}`)
        .join(", "),
    );
    expect(await controls.count()).toBe(0);
    expect(await page.locator("#queries #raise-query").count()).toBe(1);
    const dose = page.locator('[data-field="dose_cells"] dd');
    expect((await dose.textContent())?.trim()).toBe("100 ×10^6 cells");
    // A person clicks the value and types: nothing takes the keys, nothing changes.
    await dose.click();
    await page.keyboard.type("250", { delay: 100 });
    expect((await dose.textContent())?.trim()).toBe("100 ×10^6 cells");
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe("BODY");
    expect((await page.locator('[data-field="dose_per_kg"] dd').textContent())?.trim()).toBe(
      "0.99 ×10^6 cells/kg",
    );
    await expect.poll(() => page.locator('[data-calc-drift="dose_per_kg"]').isVisible()).toBe(true);
    expect(await a11yViolations(page)).toEqual([]);
  });

  it("shows a site user the stored dose per kg after load and stores the new one only on request", async () => {
    const page = await signedIn("site-01");
    await page.goto(formUrl(subject, "iv_1", "infusion"));
    // The form script has run by `load` (deferred): it left the stored value alone.
    await page.waitForLoadState("load");
    expect(await calcText(page)).toBe("0.99");
    const drift = page.locator('[data-calc-drift="dose_per_kg"]');
    expect((await drift.textContent())?.replace(/\s+/g, " ").trim()).toBe(
      "Stored 0.99 ×10^6 cells/kg; with current data it would be 1.01 ×10^6 cells/kg.",
    );
    // Editing another field does not move it either.
    await page.locator("#f-cell_viability").click();
    await page.keyboard.press("End");
    await page.keyboard.press("Backspace");
    await page.keyboard.type("6", { delay: 100 });
    expect(await calcText(page)).toBe("0.99");
    expect(await a11yViolations(page)).toEqual([]);

    // The explicit choice: tick, give a reason, save.
    await page.getByLabel("Store 1.01 ×10^6 cells/kg when saving").click();
    await expect.poll(() => calcText(page)).toBe("1.01");
    await page.getByRole("button", { name: "Save as complete" }).click();
    await expect.poll(() => page.locator("[data-reason]").isVisible()).toBe(true);
    await page.locator("#f-_reason").click();
    await page.keyboard.type("Weight of the unscheduled visit");
    await page.getByRole("button", { name: "Save as complete" }).click();
    await page.locator(".notice", { hasText: "Saved as revision 2." }).waitFor();
    expect(await calcText(page)).toBe("1.01");
    expect(await drift.count()).toBe(0);
    const state = await e2e.api(
      "monitor",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/iv_1/forms/infusion`,
    );
    expect(state.body.data).toMatchObject({ dose_per_kg: 1.01, cell_viability: 96 });
  });
});
