import { rmSync } from "node:fs";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, it } from "vitest";
import { ID, writeProtocolFormatsStudy } from "../integration/protocol-formats-study.ts";
import { describeInBrowser, type E2E, startE2E } from "./browser.ts";

/**
 * Issue 14 item 2: a local date-time and a decimal-comma number typed key by
 * key in a German and an American browser store the same values: the study's
 * clock (Europe/Berlin, named beside the box) decides, never the browser's.
 */

let e2e: E2E;
let dir: string;

const token = () => e2e.env.studies[ID]?.tokens["site-01"]?.token ?? "";

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${e2e.baseURL}/api/v1/studies/${ID}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token()}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

/** Types into a box as a person does: click it, select what is there, type with pauses, leave with Tab. */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.type(text, { delay: 90 });
  await page.keyboard.press("Tab");
}

describeInBrowser("local date-times and decimal commas in every browser locale", () => {
  beforeAll(async () => {
    dir = writeProtocolFormatsStudy();
    e2e = await startE2E({ studyDirs: [dir] });
  }, 60_000);

  afterAll(async () => {
    await e2e?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [locale, timezoneId] of [
    ["de-DE", "Europe/Berlin"],
    ["en-US", "America/New_York"],
  ] as const) {
    // Side by side: each has its own subject and context, and the pauses of their typing overlap.
    it.concurrent(`${locale}: stores 10 Nov 2026 0930 as 2026-11-10T09:30 and 1,5 as 1.5`, async ({
      expect,
    }) => {
      const enrolled = await api("POST", "/subjects", { site: "site-01", arm: "main" });
      expect(enrolled.status).toBe(201);
      const subject: string = enrolled.body.id;
      let context: BrowserContext | undefined;
      try {
        context = await e2e.context({ locale, timezoneId });
        const page = await context.newPage();
        await page.goto("/signin");
        await page.fill("#f-token", token());
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.waitForURL(`**/studies/${ID}`);
        await page.goto(`/studies/${ID}/subjects/${subject}/events/baseline/forms/sample`);

        expect(await page.locator("#f-taken_at").getAttribute("type")).toBe("text");
        expect(await page.locator("#fmt-taken_at").textContent()).toContain("Europe/Berlin time");
        await typeInto(page, "#f-taken_at", "10/11/2026 09:30");
        await expect.poll(() => page.locator("#e-taken_at").textContent()).toMatch(/without a time zone/);
        await typeInto(page, "#f-taken_at", "10 Nov 2026 0930");
        expect(await page.inputValue("#f-taken_at")).toBe("2026-11-10 09:30");
        expect(await page.locator("output[data-echo-for=taken_at]").textContent()).toBe(
          "= 10 November 2026 09:30",
        );
        await typeInto(page, "#f-received_at", "2026-11-10 18:45");
        await typeInto(page, "#f-volume_ml", "1,5");
        await expect.poll(() => page.locator("#e-volume_ml").textContent()).toBe("");
        await page.getByRole("button", { name: "Save as incomplete" }).click();
        await page.locator(".notice", { hasText: "Saved as revision" }).waitFor();

        const stored = await api("GET", `/subjects/${subject}/events/baseline/forms/sample`);
        expect(stored.body.data).toEqual({
          taken_at: "2026-11-10T09:30",
          received_at: "2026-11-10T18:45",
          transit_hours: 9.25,
          volume_ml: 1.5,
        });
        // The saved page shows the values as they were typed.
        expect(await page.inputValue("#f-taken_at")).toBe("2026-11-10 09:30");
        expect(await page.inputValue("#f-volume_ml")).toBe("1,5");
      } finally {
        await context?.close();
      }
    }, 60_000);
  }
});
