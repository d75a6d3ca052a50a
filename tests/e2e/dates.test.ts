import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, it } from "vitest";
import { describeInBrowser, type E2E, formUrl, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * Issue 9, items 1 and 2: dates and times typed as a person types them, key by
 * key, in a German and an American browser. The same keys must store the same
 * day whatever the locale: "10/11/2026" is refused as ambiguous (nothing is
 * saved), ISO and month names are stored as ISO, and "0930" is 09:30 on a
 * 24-hour control without AM/PM. What was stored is read back through the API.
 */

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
}, 60_000);
afterAll(() => e2e?.close());

const formApi = (subject: string, event: string, form: string) =>
  `/studies/${STUDY}/subjects/${subject}/events/${event}/forms/${form}`;

/** Types into a box as a person does: click it, select what is there, type with pauses, leave with Tab. */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  const box = page.locator(selector);
  await box.click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.type(text, { delay: 90 });
  await page.keyboard.press("Tab");
}

async function saveIncomplete(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Save as incomplete" }).click();
  await page.locator(".notice", { hasText: "Saved as revision" }).waitFor();
}

async function stored(subject: string, form: string): Promise<Record<string, unknown>> {
  const res = await e2e.api("site-01", "GET", formApi(subject, "screening", form));
  return res.status === 200 ? (res.body.data ?? {}) : {};
}

describeInBrowser("dates and times mean one thing in every browser locale", () => {
  for (const [locale, timezoneId] of [
    ["de-DE", "Europe/Berlin"],
    ["en-US", "America/New_York"],
  ] as const) {
    // Side by side: each test has its own subject and context, and the pauses of their typing overlap.
    it.concurrent(`${locale}: refuses 10/11/2026, stores 2026-11-10, 17 Apr 1988 and 0930 as typed`, async ({
      expect,
    }) => {
      const enrolled = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
        site: "site-01",
        arm: "rrms",
      });
      expect(enrolled.status).toBe(201);
      const subject: string = enrolled.body.id;
      let context: BrowserContext | undefined;
      try {
        context = await e2e.context({ locale, timezoneId });
        const page = await context.newPage();
        await signIn(page, e2e.env.tokens["site-01"]?.token ?? "");

        // Consent: the ambiguous date is refused with the expected format, and nothing is saved.
        await page.goto(formUrl(subject, "screening", "consent"));
        expect(await page.locator("#f-consent_date").getAttribute("type")).toBe("text");
        await typeInto(page, "#f-consent_date", "10/11/2026");
        const error = page.locator("#e-consent_date");
        await expect.poll(() => error.textContent()).toMatch(/is ambiguous .*YYYY-MM-DD/);
        expect(await page.locator("output[data-echo-for=consent_date]").textContent()).toBe("");
        await page.getByRole("button", { name: "Save as incomplete" }).click();
        expect(await page.locator(".notice").count()).toBe(0);
        expect(await page.inputValue("#f-consent_date")).toBe("10/11/2026");
        expect(await stored(subject, "consent")).toEqual({});

        await typeInto(page, "#f-consent_date", "2026-11-10");
        expect(await page.locator("output[data-echo-for=consent_date]").textContent()).toBe(
          "= 10 November 2026",
        );
        await expect.poll(() => error.textContent()).toBe("");
        await saveIncomplete(page);
        expect((await stored(subject, "consent")).consent_date).toBe("2026-11-10");
        expect(await page.inputValue("#f-consent_date")).toBe("2026-11-10");

        // Demographics: a month's name is read as that month, and the box shows what will be stored.
        await page.goto(formUrl(subject, "screening", "demographics"));
        await typeInto(page, "#f-date_of_birth", "17 Apr 1988");
        expect(await page.inputValue("#f-date_of_birth")).toBe("1988-04-17");
        expect(await page.locator("output[data-echo-for=date_of_birth]").textContent()).toBe(
          "= 17 April 1988",
        );
        await saveIncomplete(page);
        expect((await stored(subject, "demographics")).date_of_birth).toBe("1988-04-17");

        // A date of birth in the future is refused in the browser, by the protocol's range.
        await typeInto(page, "#f-date_of_birth", "2999-01-01");
        await expect
          .poll(() => page.locator("#e-date_of_birth").textContent())
          .toBe("must be today or earlier");

        // Vital signs: 24-hour time typed without a colon; no AM/PM control.
        await page.goto(formUrl(subject, "screening", "vital_signs"));
        expect(await page.locator("#f-vs_time").getAttribute("type")).toBe("text");
        await typeInto(page, "#f-vs_time", "0930");
        expect(await page.inputValue("#f-vs_time")).toBe("09:30");
        await saveIncomplete(page);
        expect((await stored(subject, "vital_signs")).vs_time).toBe("09:30");
      } finally {
        await context?.close();
      }
    }, 60_000);
  }

  it.concurrent("a date the form clears (its question hidden by branching) leaves no echo behind", async ({
    expect,
  }) => {
    const enrolled = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
      site: "site-01",
      arm: "rrms",
    });
    const context = await e2e.context({ locale: "en-US" });
    try {
      const page = await context.newPage();
      await signIn(page, e2e.env.tokens["site-01"]?.token ?? "");
      await page.goto(formUrl(enrolled.body.id, "logs", "adverse_event", 1));
      await page.locator("input[name=ongoing][value=false]").click();
      await typeInto(page, "#f-end_date", "12 Jan 2025");
      const echo = page.locator("output[data-echo-for=end_date]");
      expect(await echo.textContent()).toBe("= 12 January 2025");
      await page.locator("input[name=ongoing][value=true]").click();
      await page.locator("[data-field=end_date]").waitFor({ state: "hidden" });
      await page.locator("input[name=ongoing][value=false]").click();
      await page.locator("[data-field=end_date]").waitFor({ state: "visible" });
      expect(await page.inputValue("#f-end_date")).toBe("");
      expect(await echo.textContent()).toBe("");
    } finally {
      await context.close();
    }
  }, 60_000);
});
