import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { describeInBrowser, type E2E, STUDY, startE2E } from "./browser.ts";

/**
 * Issue 13 item 1 in Chromium: an admin creates a study from the web, typing
 * as a person types; a malformed id and a taken one are refused beside the
 * field, with what was typed kept.
 */

let e2e: E2E;
const ADMIN_KEY = "e2e-admin-create-study";

beforeAll(async () => {
  e2e = await startE2E();
  await storeDevKey(e2e.env.store, ADMIN_KEY, {
    user: "e2e-admin",
    role: "admin",
    study: STUDY,
    sites: ["*"],
  });
}, 60_000);
afterEach(() => e2e?.assertAccessible());
afterAll(() => e2e?.close());

describeInBrowser("an admin creates a study from the web", () => {
  it("types the id and title, is told inline what is wrong, and gets the study and its key", async () => {
    const context = await e2e.context();
    const page = await context.newPage();
    await page.goto("/signin");
    await page.click("#f-token");
    await page.keyboard.type(ADMIN_KEY, { delay: 40 });
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`**/studies/${STUDY}/people`);

    await page.getByRole("link", { name: "Create a study" }).click();
    await page.waitForURL("**/account/studies");
    const id = page.getByLabel("Study id");
    const title = page.getByLabel("Title (optional)");

    await id.click();
    await page.keyboard.type("Second Study", { delay: 90 });
    await title.click();
    await page.keyboard.type("A second study", { delay: 90 });
    await page.getByRole("button", { name: "Create study" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/lower-case letters/);
    expect(await id.getAttribute("aria-invalid")).toBe("true");
    expect(await id.inputValue()).toBe("Second Study");
    expect(await title.inputValue()).toBe("A second study");

    await id.fill("");
    await id.click();
    await page.keyboard.type("second-study", { delay: 90 });
    await page.getByRole("button", { name: "Create study" }).click();
    const created = page.getByRole("status");
    await expect
      .poll(() => created.textContent())
      .toMatch(/Study second-study was created \(A second study\)/);
    const key = (await page.locator("code[data-new-token]").textContent()) ?? "";
    expect(key).toMatch(/^edc_/);
    expect(await id.inputValue()).toBe("");

    // The key is the founder's at the new study: it publishes there.
    const res = await fetch(`${e2e.baseURL}/api/v1/studies/second-study/people`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).not.toBe(401);

    await id.click();
    await page.keyboard.type("second-study", { delay: 90 });
    await page.getByRole("button", { name: "Create study" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/exists already/);
    expect(await id.inputValue()).toBe("second-study");
    await context.close();
  }, 60_000);
});
