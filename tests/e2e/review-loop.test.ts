import type { BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { checkA11y, describeInBrowser, type E2E, formUrl, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * Issue 12's acceptance, end to end in Chromium, each person in their own
 * browser: a monitor raises a query on an EDSS score; the coordinator answers
 * and corrects it in one step; the monitor verifies the form; the data
 * manager closes the query and locks the visit; the investigator signs the
 * casebook after authenticating again at the provider (a German phone, typed
 * key by key); the data manager unlocks with a reason, the coordinator
 * changes the score, and the signature shows as invalidated — in the pages,
 * the audit trail and the printable casebook.
 */

const KEY_DELAY_MS = 35;
const DESKTOP: BrowserContextOptions = {
  locale: "en-GB",
  timezoneId: "Europe/London",
  viewport: { width: 1280, height: 900 },
};
const PHONE: BrowserContextOptions = {
  locale: "de-DE",
  timezoneId: "Europe/Berlin",
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
};

let e2e: E2E;
const contexts: BrowserContext[] = [];
let subject: string;

async function newPage(options: BrowserContextOptions): Promise<Page> {
  const context = await e2e.context(options);
  contexts.push(context);
  return context.newPage();
}

async function withKey(name: string): Promise<Page> {
  const page = await newPage(DESKTOP);
  await signIn(page, e2e.env.tokens[name]?.token ?? "");
  return page;
}

function password(username: string): string {
  const person = e2e.env.signIn?.people.find((p) => p.username === username);
  if (!person) throw new Error(`no dev person ${username}`);
  return person.password;
}

/** At the provider's login page: the person's own credentials, key by key, Enter to submit. */
async function typeCredentials(page: Page, username: string): Promise<void> {
  await page.getByLabel("Username").waitFor();
  const user = page.getByLabel("Username");
  // A re-authentication may offer the name already filled in: type it afresh either way.
  await user.fill("");
  await user.pressSequentially(username, { delay: KEY_DELAY_MS });
  await page.getByLabel("Password").pressSequentially(password(username), { delay: KEY_DELAY_MS });
  await page.keyboard.press("Enter");
  await page.waitForURL((url) => url.origin === e2e.baseURL);
}

async function asPerson(username: string, options: BrowserContextOptions): Promise<Page> {
  const page = await newPage(options);
  await page.goto("/signin");
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.origin !== e2e.baseURL);
  await typeCredentials(page, username);
  return page;
}

describeInBrowser("the monitor's loop (issue 12 acceptance)", () => {
  beforeAll(async () => {
    e2e = await startE2E({ signIn: {} });
    const enrolled = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
      site: "site-01",
      arm: "rrms",
    });
    subject = enrolled.body.id;
    const saved = await e2e.api("site-01", "PUT", formUrl(subject, "screening", "edss"), {
      data: { edss_total: 2 },
      status: "incomplete",
      rev: 0,
    });
    expect(saved.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await e2e?.close();
  });

  it("query → answer with correction → verify → close and lock → sign → unlock, change, signature invalidated", async () => {
    const edss = formUrl(subject, "screening", "edss");
    const subjectPage = `/studies/${STUDY}/subjects/${subject}`;

    // 1. The monitor raises a query beside the EDSS score.
    const monitor = await withKey("monitor");
    await monitor.goto(edss);
    await monitor.locator('[data-field="edss_total"] + ul.field-queries a.raise-query').click();
    const raise = monitor.locator("#raise-query");
    await raise.getByLabel("Question").click();
    await monitor.keyboard.type("Source says 3, not 2?", { delay: KEY_DELAY_MS });
    await raise.getByRole("button", { name: "Raise query" }).click();
    await monitor.waitForURL(/#query-q_/);
    expect(await monitor.locator("article.query").getAttribute("data-state")).toBe("open");

    // 2. The coordinator corrects the score and answers in the same post.
    const coordinator = await withKey("site-01");
    await coordinator.goto(edss);
    await coordinator.locator('select[name="edss_total"]').selectOption("3");
    await coordinator.locator("[data-answer-with-save] textarea").fill("Chart checked: 3.");
    await coordinator.getByRole("button", { name: "Save and answer" }).click();
    await coordinator.waitForURL(/#query-q_/);
    expect(await coordinator.locator("article.query").getAttribute("data-state")).toBe("answered");

    // 3. The monitor verifies the whole form against source.
    await monitor.goto(edss);
    await monitor.getByRole("button", { name: "Verify the whole form" }).click();
    await monitor.waitForLoadState();
    await monitor.goto(edss);
    expect(await monitor.locator("details.sdv").getAttribute("data-sdv-status")).toBe("verified");
    expect(await monitor.locator('[data-sdv-field="edss_total"]').getAttribute("data-sdv")).toBe("verified");

    // 4. The data manager closes the query and locks the visit.
    const dataManager = await asPerson("data-manager", DESKTOP);
    await dataManager.goto(edss);
    await dataManager.locator("article.query").getByRole("button", { name: "Close query" }).click();
    await dataManager.waitForURL(/#query-q_/);
    expect(await dataManager.locator("article.query").getAttribute("data-state")).toBe("closed");
    await dataManager.goto(edss);
    await dataManager.getByRole("button", { name: "Lock this visit" }).click();
    await dataManager.goto(edss);
    expect(await dataManager.locator("[data-locked]").getAttribute("data-locked")).toBe("visit");

    // A locked form is read-only for the coordinator, and the API refuses a save with its own problem.
    await coordinator.goto(edss);
    expect(await coordinator.locator("[data-locked]").count()).toBe(1);
    expect(await coordinator.getByRole("button", { name: "Save as incomplete" }).count()).toBe(0);
    const refused = await e2e.api("site-01", "PUT", edss, {
      data: { edss_total: 4 },
      status: "incomplete",
      rev: 2,
    });
    expect(refused.status).toBe(423);
    expect(refused.body.type).toBe("urn:edc:problem:locked");

    // 5. The investigator signs the casebook, authenticating again at the provider.
    const investigator = await asPerson("investigator-site-01", PHONE);
    await investigator.goto(subjectPage);
    await investigator.getByRole("link", { name: "Sign the casebook…" }).click();
    await investigator.getByRole("link", { name: "Authenticate again to sign" }).click();
    await investigator.waitForURL((url) => url.origin !== e2e.baseURL);
    await typeCredentials(investigator, "investigator-site-01");
    await investigator.locator("#f-confirm").check();
    await investigator.getByRole("button", { name: "Sign", exact: true }).click();
    await investigator.goto(subjectPage);
    const signatures = investigator.locator("section", { hasText: "Signed by" });
    expect(await signatures.first().textContent()).toContain("Signed by Dev investigator, site-01");
    await checkA11y(investigator, "subject page with a signature (phone)");

    // 6. The data manager unlocks with a reason; the coordinator changes the score.
    await dataManager.goto(edss);
    await dataManager.locator("#f-unlock-reason").fill("Late lab letter changes the EDSS");
    await dataManager.getByRole("button", { name: "Unlock the visit" }).click();
    await coordinator.goto(edss);
    await coordinator.locator('select[name="edss_total"]').selectOption("4");
    await coordinator.getByRole("button", { name: "Save as incomplete" }).click();
    await coordinator.locator(".notice", { hasText: "Saved as revision 3." }).waitFor();

    // The signature shows as invalidated, naming the change; the verification asks to be done again.
    await investigator.goto(subjectPage);
    expect(await investigator.locator("main").textContent()).toContain("Signature invalidated by change on");
    await monitor.goto(edss);
    expect(await monitor.locator('[data-sdv-field="edss_total"]').getAttribute("data-sdv")).toBe(
      "needs-reverification",
    );

    // 7. The record: the audit trail has each value; the printable casebook has every review step.
    await monitor.goto(`${subjectPage}/audit`);
    const audit = (await monitor.locator("table.audit").textContent()) ?? "";
    for (const value of ["2", "3", "4"]) expect(audit).toContain(value);
    await monitor.goto(`${subjectPage}/casebook/print`);
    const print = (await monitor.locator("main").textContent()) ?? "";
    for (const words of ["Source says 3, not 2?", "Chart checked: 3.", "Late lab letter changes the EDSS"])
      expect(print).toContain(words);
    expect(print).toMatch(/verif/i);
    expect(print).toMatch(/sign/i);

    // The change feed carries every review step once, beside the revisions.
    const feed = await e2e.api("monitor", "GET", `/studies/${STUDY}/changes?limit=1000`);
    const mine = (feed.body.changes as { type: string; subject: string; action: string }[]).filter(
      (c) => c.subject === subject && c.type === "review",
    );
    expect(mine.map((c) => c.action)).toEqual([
      "query-open",
      "query-answer",
      "verify",
      "query-close",
      "lock",
      "sign",
      "unlock",
    ]);
  }, 180_000);
});
