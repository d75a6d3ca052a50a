import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, type E2E, STUDY, startE2E } from "./browser.ts";

/**
 * People sign in through the local OpenID provider's own login page, typed
 * key by key; an idle session is ended server-side; an admin's grant decides
 * what a monitor sees.
 */

const IDLE_MS = 2_000;
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ a11yOnLoad: false, signIn: { idleMs: IDLE_MS } });
}, 60_000);

afterAll(() => e2e?.close());

function password(username: string): string {
  const person = e2e.env.signIn?.people.find((p) => p.username === username);
  if (!person) throw new Error(`no dev person ${username}`);
  return person.password;
}

async function signIn(page: Page, username: string): Promise<void> {
  await page.goto("/signin");
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.getByLabel("Username").click();
  await page.keyboard.type(username);
  await page.getByLabel("Password").click();
  await page.keyboard.type(password(username));
  await page.keyboard.press("Enter");
  await page.waitForURL((url) => url.origin === e2e.baseURL && !url.pathname.startsWith("/signin"));
}

describeInBrowser("signing in through the OpenID provider", () => {
  it("signs a coordinator in, out after the idle timeout, and in again", async () => {
    const context = await e2e.context();
    const page = await context.newPage();
    await signIn(page, "coordinator-site-01");
    expect(new URL(page.url()).pathname).toBe(`/studies/${STUDY}`);
    await expect(page.locator(".who").textContent()).resolves.toContain("coordinator at site-01");
    await page.waitForTimeout(IDLE_MS + 500);
    await page.reload();
    expect(new URL(page.url()).pathname).toBe("/signin");
    await expect(page.getByRole("status").textContent()).resolves.toContain("without activity");
    // The provider's own session is still alive: "Sign in" returns without the login form.
    await page.getByRole("link", { name: "Sign in" }).click();
    await page.waitForURL(`${e2e.baseURL}/studies/${STUDY}`);
    await context.close();
  }, 60_000);

  it("lets an admin grant a monitor site-02 only, and the monitor sees exactly site-02's subjects", async () => {
    const one = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
      site: "site-01",
      arm: "rrms",
    });
    const two = await e2e.api("site-02", "POST", `/studies/${STUDY}/subjects`, {
      site: "site-02",
      arm: "nmo",
    });
    expect([one.status, two.status]).toEqual([201, 201]);

    const admin = await e2e.context();
    const page = await admin.newPage();
    await signIn(page, "admin");
    expect(new URL(page.url()).pathname).toBe(`/studies/${STUDY}/people`);
    const monitor = page.getByRole("region", { name: "monitor@example.org" });
    await monitor.getByLabel("Role", { exact: true }).selectOption("monitor");
    await monitor.getByLabel(/\(site-02\)/).check();
    await monitor.getByRole("button", { name: "Grant" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toContain("monitor at site-02");
    await admin.close();

    const context = await e2e.context();
    const seen = await context.newPage();
    await signIn(seen, "monitor");
    const html = await seen.content();
    expect(html).toContain(two.body.id);
    expect(html).not.toContain(one.body.id);
    await context.close();
  }, 60_000);
});
