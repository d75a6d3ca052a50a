import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { checkA11y, describeInBrowser, type E2E, STUDY, startE2E } from "./browser.ts";
import { DASHBOARD, enter, KEY_DELAY_MS, providerSignIn } from "./provider-sign-in.ts";

/**
 * Issue 11's people acceptance, as people do it (signing out when idle is
 * sign-in-idle.test.ts): an admin grants a role at one site; an admin's
 * revocation ends an open session at its next request; signing out at the
 * provider ends the session; a wrong password opens none.
 */

let e2e: E2E;
const { password, toProvider, signedIn } = providerSignIn(() => e2e);

beforeAll(async () => {
  // The default idle timeout: nothing here waits it out, and only what a test does ends a session.
  e2e = await startE2E({ signIn: {} });
}, 60_000);

// axe-core judged every page of the app these tests loaded (browser.ts); the provider's pages are checked where they appear.
afterEach(() => e2e?.assertAccessible());

afterAll(() => e2e?.close());

describeInBrowser("people sign in through the OpenID provider", () => {
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

    const { context: admin, page } = await signedIn("admin", "fill");
    expect(new URL(page.url()).pathname).toBe(`/studies/${STUDY}/people`);
    const monitor = page.getByRole("region", { name: "monitor@example.org" });
    await monitor.getByLabel("Role", { exact: true }).selectOption("monitor");
    await monitor.getByLabel(/\(site-02\)/).check();
    await monitor.getByRole("button", { name: "Grant" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toContain("monitor at site-02");
    await admin.close();

    const { context, page: seen } = await signedIn("monitor", "keys");
    const html = await seen.content();
    expect(html).toContain(two.body.id);
    expect(html).not.toContain(one.body.id);
    await context.close();
  }, 60_000);

  it("ends a revoked person's open session at their very next request, and lets them no further", async () => {
    const { context: admin, page } = await signedIn("admin", "fill", { locale: "de-DE" });
    const { context: them, page: person } = await signedIn("investigator-site-02", "fill");
    expect(new URL(person.url()).pathname).toBe(DASHBOARD);
    await person.getByRole("link", { name: "Enrol a subject" }).click();
    await person.waitForURL(`**${DASHBOARD}/enrol`);
    const region = page.getByRole("region", { name: "investigator-site-02@example.org" });
    await region.getByRole("button", { name: /^Revoke every role/ }).click();
    // The admin page reloads after the post: on a loaded machine that can outlast the default 10 s wait.
    await expect(region.textContent({ timeout: 30_000 })).resolves.toMatch(
      /Revoked .* by admin@example\.org/,
    );
    await admin.close();

    // Well inside the idle timeout: nothing but the revocation ends this session. The enrolment is refused, saying why.
    await person.check("input[name=arm][value=nmo]");
    await person.getByLabel("Subject id (optional)").fill("02-301");
    const refused = person.waitForResponse((r) => r.request().method() === "POST");
    await person.getByRole("button", { name: "Enrol", exact: true }).click();
    expect((await refused).status()).toBe(401);
    await expect(person.locator("h1").textContent()).resolves.toBe("You are signed out");
    await expect(person.locator("main").textContent()).resolves.toContain("was not saved");
    expect((await e2e.api("site-02", "GET", `/studies/${STUDY}/subjects/02-301`)).status).toBe(404);
    await person.getByRole("link", { name: "Sign in again" }).click();
    await person.waitForURL(/\/signin/);
    // Still signed in at the provider, but no role here any more: refused with the reason.
    await person.getByRole("link", { name: "Sign in" }).click();
    await person.waitForURL((url) => url.origin === e2e.baseURL && url.pathname === "/auth/callback");
    await expect(person.getByRole("alert").textContent()).resolves.toContain(
      "hold no role at any study here",
    );
    const again = await person.goto(DASHBOARD);
    expect(new URL(person.url()).pathname).toBe("/signin");
    expect(again?.status()).toBe(200);
    await them.close();
  }, 60_000);

  // These two side by side (other people, own contexts): the pauses of their typing overlap. The two above change
  // grants on the people page one after the other.
  it.concurrent("signs out at the provider too: the old session is dead and signing in asks for the password", async ({
    expect,
  }) => {
    const { context, page } = await signedIn("coordinator-site-02", "keys");
    const [cookie] = (await context.cookies()).filter((c) => c.name === "edc_session");
    expect(cookie).toBeDefined();
    await page.getByRole("button", { name: "Sign out" }).click();
    // The provider asks to confirm ending its session, then sends the browser back to the app's sign-in page.
    await page.waitForURL((url) => url.origin !== e2e.baseURL);
    await checkA11y(page, "the provider's sign-out page");
    await page.getByRole("button", { name: /yes/i }).click();
    await page.waitForURL(`${e2e.baseURL}/signin`);

    await page.goto(DASHBOARD);
    expect(new URL(page.url()).pathname).toBe("/signin");
    await toProvider(page);
    await expect(page.getByLabel("Password").inputValue()).resolves.toBe("");
    await context.close();

    // The cookie kept from before the sign-out opens nothing: the session ended on the server.
    const replay = await e2e.context();
    if (cookie) await replay.addCookies([cookie]);
    const replayed = await replay.newPage();
    await replayed.goto(DASHBOARD);
    expect(new URL(replayed.url()).pathname).toBe("/signin");
    await replay.close();
  }, 60_000);

  it.concurrent("refuses a wrong password accessibly, and opens no session", async ({ expect }) => {
    const context = await e2e.context({ locale: "de-DE" });
    const page = await context.newPage();
    await page.goto(DASHBOARD);
    await toProvider(page);
    const refused = page.waitForResponse((r) => r.request().method() === "POST");
    await logInWrong(page, "coordinator-site-01");
    expect((await refused).status()).toBe(401);
    const alert = page.getByRole("alert");
    await expect(alert.textContent()).resolves.toBe("Wrong username or password. Try again.");
    // Focus is back on the password, which names the error as its description, and the username is kept.
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLInputElement | null;
      const described = (el?.getAttribute("aria-describedby") ?? "")
        .split(/\s+/)
        .map((id) => document.getElementById(id)?.textContent ?? "")
        .join(" ");
      return { id: el?.id, invalid: el?.getAttribute("aria-invalid"), described };
    });
    expect(focused).toEqual({
      id: "password",
      invalid: "true",
      described: "Wrong username or password. Try again.",
    });
    await expect(page.getByLabel("Username").inputValue()).resolves.toBe("coordinator-site-01");
    await checkA11y(page, "the provider's login page, refused");
    expect((await context.cookies(e2e.baseURL)).map((c) => c.name)).not.toContain("edc_session");
    const after = await context.newPage();
    await after.goto(DASHBOARD);
    expect(new URL(after.url()).pathname).toBe("/signin");

    // The right password, typed into the same form, signs in where the person was going.
    await page
      .getByLabel("Password")
      .pressSequentially(password("coordinator-site-01"), { delay: KEY_DELAY_MS });
    await page.keyboard.press("Enter");
    await page.waitForURL(`${e2e.baseURL}${DASHBOARD}`);
    await context.close();
  }, 60_000);
});

async function logInWrong(page: Page, username: string): Promise<void> {
  await enter(page.getByLabel("Username"), username, "keys");
  await enter(page.getByLabel("Password"), "not-the-password", "keys");
  await page.keyboard.press("Enter");
}
