import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ARTIFACTS, describeInBrowser, type E2E, formUrl, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * Issue 9, items 3, 4 and 9, driven as a person does: real pointer presses
 * and key presses with human timing.
 */

let e2e: E2E;
let context: BrowserContext;
let page: Page;

const human = { delay: 90 };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function enrol(): Promise<string> {
  const res = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
    site: "site-01",
    arm: "rrms",
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** A click the way a hand makes it: move, press, hold, release; the box of `selector` while pressed and after. */
async function pressAndRelease(p: Page, selector: string) {
  const target = p.locator(selector);
  // A person scrolls what they press clear of the sticky save bar: the mouse alone presses whatever
  // is at those coordinates (on a phone, the bar covers the bottom of the viewport).
  await target.evaluate((el) => el.scrollIntoView({ block: "center" }));
  const before = await target.boundingBox();
  if (!before) throw new Error(`${selector} is not on screen`);
  await p.mouse.move(before.x + before.width / 2, before.y + before.height / 2, { steps: 5 });
  await p.mouse.down();
  await pause(150);
  const pressed = await target.boundingBox();
  await p.mouse.up();
  return { before, pressed };
}

describeInBrowser("form flow in a browser (issue 9: items 3, 4, 9)", () => {
  beforeAll(async () => {
    e2e = await startE2E();
    context = await e2e.context();
    page = await context.newPage();
    const token = e2e.env.tokens["site-01"]?.token;
    if (!token) throw new Error("no dev token site-01");
    await signIn(page, token);
  });

  afterAll(async () => {
    await e2e?.close();
  });

  it("item 3: a click on the next answer registers after the field before it fails its check (3 of 3)", async () => {
    const subject = await enrol();
    // Desktop, tablet and phone: on a narrow screen a message may wrap to more lines than its slot.
    const viewports = [
      { width: 1200, height: 900 },
      { width: 768, height: 1024 },
      { width: 390, height: 844 },
    ];
    for (const [i, viewport] of viewports.entries()) {
      const attempt = `${i + 1} (${viewport.width}×${viewport.height})`;
      await page.setViewportSize(viewport);
      await page.goto(formUrl(subject, "screening", "consent"));
      await page.locator("#f-consent_version").click();
      await page.keyboard.type("version #2", human);
      const yes = '[data-field="consent_signed"] input[value="true"]';
      const { before, pressed } = await pressAndRelease(page, yes);
      expect(await page.locator(yes).isChecked(), `attempt ${attempt}: the click on "Yes" was lost`).toBe(
        true,
      );
      const error = page.locator("#e-consent_version");
      await expect.poll(() => error.textContent()).toMatch(/\S/);
      const after = await page.locator(yes).boundingBox();
      expect(pressed, `attempt ${attempt}: moved while the button was down`).toEqual(before);
      // A message that fits its slot's one line moves nothing, ever; one that wraps (on a phone)
      // may push the fields below it, but only after the click it waited for has registered.
      const oneLine = ((await error.boundingBox())?.height ?? 0) < 30;
      if (viewport.width >= 768) expect(oneLine, `attempt ${attempt}: the message wraps`).toBe(true);
      if (oneLine) expect(after, `attempt ${attempt}: moved when the message appeared`).toEqual(before);
    }
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  it("item 3: on a phone, a message longer than its slot waits until the press on the next control is over", async () => {
    const subject = await enrol();
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(formUrl(subject, "screening", "vital_signs"));
      await page.locator("#f-systolic_bp").click();
      await page.keyboard.type("120", human);
      await page.locator("#f-diastolic_bp").click();
      await page.keyboard.type("130", human);
      const { before, pressed } = await pressAndRelease(page, "#f-heart_rate");
      expect(pressed, "moved while the button was down").toEqual(before);
      const error = page.locator("#e-diastolic_bp");
      await expect.poll(() => error.textContent()).toContain("lower than systolic");
      // The message wraps on a phone: it is two lines, more than the one its slot keeps.
      expect((await error.boundingBox())?.height ?? 0).toBeGreaterThan(35);
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("f-heart_rate");
    } finally {
      await page.setViewportSize({ width: 1200, height: 900 });
    }
  });

  it("item 4: Enter in a text field saves nothing and creates no log instance; leaving unsaved edits warns", async () => {
    const subject = await enrol();
    const url = formUrl(subject, "logs", "adverse_event", 1);
    await page.goto(url);
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    await page.locator("#f-ae_term").click();
    await page.keyboard.type("Headache", human);
    await page.keyboard.press("Enter");
    await pause(400);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(
      true,
    );
    expect(await page.locator("#f-ae_term").inputValue()).toBe("Headache");
    const stored = await e2e.api(
      "site-01",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/logs/forms/adverse_event/instances/1`,
    );
    expect(stored.status === 404 || stored.body?.rev === 0, JSON.stringify(stored.body)).toBe(true);

    // Leaving with unsaved edits asks first; staying keeps them.
    const dialogs: string[] = [];
    page.once("dialog", (dialog) => {
      dialogs.push(dialog.type());
      void dialog.dismiss();
    });
    await page.getByRole("link", { name: `← Subject ${subject}` }).click();
    await pause(400);
    expect(dialogs).toEqual(["beforeunload"]);
    expect(new URL(page.url()).pathname).toBe(url);
    expect(await page.locator("#f-ae_term").inputValue()).toBe("Headache");

    // After a save nothing is pending: leaving does not ask.
    await page.getByRole("button", { name: "Save as incomplete" }).click();
    await page.locator(".notice", { hasText: "Saved as revision 1." }).waitFor();
    let asked = false;
    const onDialog = () => {
      asked = true;
    };
    page.on("dialog", onDialog);
    await page.getByRole("link", { name: `← Subject ${subject}` }).click();
    await page.waitForURL(`**/subjects/${subject}#event-logs`);
    page.off("dialog", onDialog);
    expect(asked).toBe(false);
  });

  it("item 4: Enter in a textarea is still a new line, and saves nothing", async () => {
    const subject = await enrol();
    await page.goto(formUrl(subject, "screening", "mri"));
    await page.locator("#f-comments").click();
    await page.keyboard.type("first line", human);
    await page.keyboard.press("Enter");
    await page.keyboard.type("second line", human);
    expect(await page.locator("#f-comments").inputValue()).toBe("first line\nsecond line");
    const stored = await e2e.api(
      "site-01",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/screening/forms/mri`,
    );
    expect(stored.status === 404 || stored.body?.rev === 0, JSON.stringify(stored.body)).toBe(true);
  });

  it("item 9: save and go to the next form of the visit, then save and return to the subject", async () => {
    const subject = await enrol();
    await page.goto(formUrl(subject, "screening", "consent"));
    await page.locator("#f-consent_version").click();
    await page.keyboard.type("2.1", human);
    await page.getByLabel("After saving").selectOption("next");
    await page.getByRole("button", { name: "Save as incomplete" }).click();
    await page.waitForURL(`**${formUrl(subject, "screening", "demographics")}?**`);
    await expect
      .poll(() => page.locator(".notice").first().textContent())
      .toMatch(/Informed consent.*stored as revision 1/);
    expect(await page.getByLabel("After saving").inputValue()).toBe("next");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(ARTIFACTS, "formflow-next-form-phone.png") });
    await page.setViewportSize({ width: 1200, height: 900 });

    await page.locator("#f-initials").click();
    await page.keyboard.type("AB", human);
    await page.getByLabel("After saving").selectOption("subject");
    await page.getByRole("button", { name: "Save as incomplete" }).click();
    await page.waitForURL(`**/studies/${STUDY}/subjects/${subject}?**`);
    await expect
      .poll(() => page.locator(".notice").first().textContent())
      .toMatch(/Demographics.*revision 1/);
  });
});
