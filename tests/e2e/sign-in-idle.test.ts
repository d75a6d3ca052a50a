import type { BrowserContextOptions } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { describeInBrowser, type E2E, formUrl, startE2E } from "./browser.ts";
import { DASHBOARD, type Entry, enter, pathOf, providerSignIn } from "./provider-sign-in.ts";

/**
 * Issue 11's people acceptance, the idle part (the rest is sign-in.test.ts; a
 * file of its own so the two waits for the timeout run beside the other
 * browser files): sign in at the local OpenID provider's own login page,
 * enter a form and find it in the audit trail under one's own name, be signed
 * out after the idle timeout and come back to the same page. Typed key by key
 * at human speed in one locale and viewport, with fill() in the other.
 */

/** Long enough for every pause a person makes below (typing a field, reading a page), short enough to wait out. */
const IDLE_MS = 5_000;

const VARIANTS: { name: string; entry: Entry; subject: string; options: BrowserContextOptions }[] = [
  {
    name: "de-DE phone, typed key by key",
    entry: "keys",
    subject: "01-301",
    options: {
      locale: "de-DE",
      timezoneId: "Europe/Berlin",
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    },
  },
  {
    name: "en-US desktop, filled",
    entry: "fill",
    subject: "01-302",
    options: { locale: "en-US", timezoneId: "America/New_York", viewport: { width: 1280, height: 800 } },
  },
];

let e2e: E2E;
const { toProvider, logIn } = providerSignIn(() => e2e);

beforeAll(async () => {
  e2e = await startE2E({ signIn: { idleMs: IDLE_MS } });
}, 60_000);

// axe-core judged every page of the app these tests loaded (browser.ts); the provider's pages are checked where they appear.
afterEach(() => e2e?.assertAccessible());

afterAll(() => e2e?.close());

describeInBrowser("people sign in through the OpenID provider and are signed out when idle", () => {
  for (const { name, entry, subject, options } of VARIANTS) {
    it(`${name}: a coordinator enters a form under their own name, is signed out when idle and returns to the same page with the data`, async () => {
      const context = await e2e.context(options);
      try {
        const page = await context.newPage();
        await page.goto(DASHBOARD);
        expect(pathOf(page)).toBe(`/signin?next=${encodeURIComponent(DASHBOARD)}`);
        await toProvider(page);
        await logIn(page, "coordinator-site-01", entry);
        expect(new URL(page.url()).pathname).toBe(DASHBOARD);
        await expect(page.locator(".who").textContent()).resolves.toContain(
          "coordinator-site-01@example.org",
        );

        await page.getByRole("link", { name: "Enrol a subject" }).click();
        await page.check("input[name=arm][value=rrms]");
        await enter(page.getByLabel("Subject id (optional)"), subject, entry);
        await page.getByRole("button", { name: "Enrol", exact: true }).click();
        await page.waitForURL(`**/subjects/${subject}`);
        await page.locator("tr#event-screening a", { hasText: "Demographics" }).click();
        const form = formUrl(subject, "screening", "demographics");
        await page.waitForURL(`**${form}`);
        await enter(page.locator("#f-initials"), "JQ", entry);
        await enter(page.locator("#f-height"), "172", entry);
        await enter(page.locator("#f-weight"), "64", entry);
        await page.getByRole("button", { name: "Save as incomplete" }).click();
        await page.locator(".notice", { hasText: "Saved as revision 1." }).waitFor();

        // The save is in the audit trail under the person who made it, as the ID token named them.
        await page.getByRole("link", { name: `← Subject ${subject}` }).click();
        await page.getByRole("link", { name: "Audit trail" }).click();
        const saved = page.locator("table.audit tbody tr", { hasText: "Demographics" });
        await expect(saved.locator("td").nth(1).textContent()).resolves.toBe(
          "coordinator-site-01@example.org",
        );
        await expect(saved.textContent()).resolves.toMatch(/172/);

        await page.getByRole("link", { name: `← Subject ${subject}` }).click();
        await page.waitForTimeout(IDLE_MS + 500);
        // The next click after the idle timeout lands on the sign-in page, saying why, and remembering where to.
        await page.locator("tr#event-screening a", { hasText: "Demographics" }).click();
        await page.waitForURL(/\/signin\?/);
        expect(pathOf(page)).toBe(`/signin?next=${encodeURIComponent(form)}&idle=1`);
        await expect(page.getByRole("status").textContent()).resolves.toBe(
          "You were signed out after a period without activity. Sign in again.",
        );
        // The provider's own session is alive: "Sign in" returns without the login form, to the form asked for.
        await page.getByRole("link", { name: "Sign in" }).click();
        await page.waitForURL((url) => url.origin === e2e.baseURL && url.pathname === form);
        expect(await page.inputValue("#f-initials")).toBe("JQ");
        expect(await page.inputValue("#f-height")).toBe("172");
        expect(await page.inputValue("#f-weight")).toBe("64");
      } finally {
        await context.close();
      }
    }, 60_000);
  }
});
