import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, type E2E, STUDY, startE2E } from "./browser.ts";

/**
 * A bulk export from the exports page on a phone (390×844, de-DE), by
 * keyboard alone: the format chosen by typing, the start button reached by
 * Tab, the page reloading by itself until the job is done, and the file
 * downloaded by Enter on its link, its bytes matching the SHA-256 shown.
 */

let e2e: E2E;

describeInBrowser("bulk export on the exports page", () => {
  beforeAll(async () => {
    e2e = await startE2E();
    await e2e.enrol("site-01");
  }, 60_000);
  afterAll(() => e2e?.close());

  it("a site's coordinator starts one by keyboard, waits for it and downloads its file", async () => {
    const { context, page } = await e2e.signedInPage("site-01", {
      viewport: { width: 390, height: 844 },
      locale: "de-DE",
      timezoneId: "Europe/Berlin",
      isMobile: true,
      hasTouch: true,
    });
    await page.goto(`/studies/${STUDY}/exports`);
    await page.getByLabel("Format", { exact: true }).last().focus();
    await page.keyboard.type("CSV");
    expect(await page.locator("#b-format").inputValue()).toBe("csv");
    const start = page.getByRole("button", { name: "Start bulk export" });
    for (let i = 0; i < 20 && !(await start.evaluate((b) => b === document.activeElement)); i++)
      await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForURL(/exports#bulk-jobs$/);
    // The list updates itself while the job runs; the link appears once it is done.
    const link = page.locator("#bulk-jobs a[download]");
    await link.waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator("#bulk-jobs").textContent()).toContain("Done");
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth),
    ).toBe(false);
    const shown = (await page.locator("#bulk-jobs code.hash").textContent()) ?? "";
    await link.focus();
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
    const saved = path.join(await mkdtemp(path.join(tmpdir(), "bulk-export-")), "file");
    await download.saveAs(saved);
    const bytes = await readFile(saved);
    expect(bytes.length).toBeGreaterThan(0);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(shown);
    await e2e.assertAccessible();
    await context.close();
  }, 30_000);
});
