import type { BrowserContextOptions, Locator, Page } from "playwright-core";
import { checkA11y, type E2E, STUDY } from "./browser.ts";

/**
 * People signing in at the local OpenID provider's own login page, as the
 * sign-in test files (sign-in*.test.ts) drive it: typed key by key at human
 * speed, or filled.
 */

/** Between two key presses: a quick typist. */
export const KEY_DELAY_MS = 35;
export const DASHBOARD = `/studies/${STUDY}`;

export type Entry = "keys" | "fill";

export const pathOf = (page: Page) => {
  const url = new URL(page.url());
  return `${url.pathname}${url.search}`;
};

export async function enter(field: Locator, value: string, entry: Entry): Promise<void> {
  if (entry === "fill") return field.fill(value);
  await field.click();
  await field.pressSequentially(value, { delay: KEY_DELAY_MS });
}

/** The steps, bound to one test file's product. */
export function providerSignIn(e2e: () => E2E) {
  function password(username: string): string {
    const person = e2e().env.signIn?.people.find((p) => p.username === username);
    if (!person) throw new Error(`no dev person ${username}`);
    return person.password;
  }

  /** From the app's sign-in page to the provider's login form, which must be accessible on its own. */
  async function toProvider(page: Page): Promise<void> {
    await page.getByRole("link", { name: "Sign in" }).click();
    await page.waitForURL((url) => url.origin !== e2e().baseURL);
    await page.getByLabel("Username").waitFor();
    await checkA11y(page, "the provider's login page");
  }

  /** Types the person's credentials at the provider; resolves on the first page of the app it returns to. */
  async function logIn(
    page: Page,
    username: string,
    entry: Entry,
    secret = password(username),
  ): Promise<void> {
    await enter(page.getByLabel("Username"), username, entry);
    await enter(page.getByLabel("Password"), secret, entry);
    if (entry === "keys") await page.keyboard.press("Enter");
    else await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => url.origin === e2e().baseURL);
  }

  async function signedIn(username: string, entry: Entry, options: BrowserContextOptions = {}) {
    const context = await e2e().context(options);
    const page = await context.newPage();
    await page.goto("/signin");
    await toProvider(page);
    await logIn(page, username, entry);
    return { context, page };
  }

  return { password, toProvider, logIn, signedIn };
}
