import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { withStudyVariant } from "../integration/harness.ts";
import { describeInBrowser, type E2E, formUrl, startE2E } from "./browser.ts";

/** Issue 14 item 4 in the browser: a later label pipes a name as it is typed. */

let e2e: E2E;
let page: Page;

describeInBrowser("piping in the form page", () => {
  beforeAll(async () => {
    const formsDir = withStudyVariant((edit) =>
      edit("demographics", (properties, demographics) => {
        demographics.properties = { nickname: { type: "string", title: "Nickname" }, ...properties };
        (properties.weight as Record<string, unknown>).title = "Weight of {{nickname}} ({{sex}})";
      }),
    );
    e2e = await startE2E({ formsDir });
    ({ page } = await e2e.signedInPage("site-01"));
  });
  afterEach(() => e2e.assertAccessible());
  afterAll(async () => {
    await e2e?.close();
  });

  it("updates a later label as the name is typed, as text (never markup), with a blank while empty", async () => {
    await page.goto(formUrl(await e2e.enrol(), "screening", "demographics"));
    const label = page.locator("#l-weight");
    expect(await label.textContent()).toContain("Weight of ______ (______)");
    await page.locator("#f-nickname").pressSequentially("<b>Ann</b>", { delay: 60 });
    await expect.poll(() => label.textContent()).toContain("Weight of <b>Ann</b> (______)");
    expect(await label.locator("b").count()).toBe(0);
    await page.getByLabel("Female").check();
    await expect.poll(() => label.textContent()).toContain("Weight of <b>Ann</b> (Female)");
    // The server renders the same text from the saved values.
    await page.locator("button[name=_status][value=incomplete]").click();
    await page.waitForURL(/saved=1/);
    expect(await page.locator("#l-weight").textContent()).toContain("Weight of <b>Ann</b> (Female)");
  });
});
