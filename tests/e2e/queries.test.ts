import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { checkA11y, describeInBrowser, type E2E, formUrl, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * Issue 12 item 1 in a real browser: a monitor raises a query beside the EDSS
 * score, the coordinator answers it, the monitor closes it; the pages pass
 * axe-core and do not scroll sideways at 390 px.
 */

let e2e: E2E;
const contexts: BrowserContext[] = [];
let subject: string;

async function signedIn(name: string, viewport = { width: 1200, height: 900 }): Promise<Page> {
  const context = await e2e.context({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  const token = e2e.env.tokens[name]?.token;
  if (!token) throw new Error(`no ${name} token`);
  await signIn(page, token);
  return page;
}

const sideways = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describeInBrowser("queries (issue 12, item 1)", () => {
  beforeAll(async () => {
    e2e = await startE2E();
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

  it("is raised beside a field, answered by the site and closed by the monitor", async () => {
    const monitor = await signedIn("monitor");
    await monitor.goto(formUrl(subject, "screening", "edss"));
    // The "Raise query" link right after the EDSS score's field.
    await monitor.locator('[data-field="edss_total"] + ul.field-queries a.raise-query').click();
    await monitor.waitForURL(/\?raise=field%3Aedss_total$/);
    const raise = monitor.locator("#raise-query");
    expect(await raise.getByLabel("About").inputValue()).toBe("field:edss_total");
    // The link asked to raise a query on that field: the question takes the keys at once.
    await monitor.waitForFunction(() => document.activeElement?.id === "f-query-text");
    await monitor.keyboard.type("Does the source say this?", { delay: 10 });
    expect(await raise.getByLabel("Question").inputValue()).toBe("Does the source say this?");
    await raise.getByLabel("For").selectOption("coordinator");
    await raise.getByRole("button", { name: "Raise query" }).click();
    await monitor.waitForURL(/#query-q_/);
    const thread = monitor.locator("article.query");
    expect(await thread.getAttribute("data-state")).toBe("open");
    await checkA11y(monitor, "form page with a query (monitor)");

    const site = await signedIn("site-01");
    await site.goto(formUrl(subject, "screening", "edss"));
    expect(await site.locator("ul.field-queries li[data-query]").textContent()).toContain("Does the source");
    // The coordinator corrects the score and answers in one step, from the data form.
    await site.locator('select[name="edss_total"]').selectOption("3");
    await site.locator("[data-answer-with-save] textarea").fill("The chart says 3: corrected.");
    await site.getByRole("button", { name: "Save and answer" }).click();
    await site.waitForURL(/#query-q_/);
    expect(await site.locator("article.query").getAttribute("data-state")).toBe("answered");
    expect(await site.locator("article.query").textContent()).toContain("Corrected the data: revision 2");
    const saved = await e2e.api("monitor", "GET", formUrl(subject, "screening", "edss"));
    expect(saved.body).toMatchObject({ rev: 2, data: { edss_total: 3 } });
    await expect(site.getByRole("button", { name: "Close query" }).count()).resolves.toBe(0);
    await checkA11y(site, "form page with a query (site)");

    await monitor.reload();
    await monitor.locator("article.query").getByRole("button", { name: "Close query" }).click();
    await monitor.waitForURL(/#query-q_/);
    expect(await monitor.locator("article.query").getAttribute("data-state")).toBe("closed");
    expect(await monitor.locator("article.query ol.messages li").count()).toBe(3);

    await monitor.getByRole("link", { name: "Queries", exact: true }).click();
    await monitor.waitForURL(`**/studies/${STUDY}/queries`);
    expect(await monitor.locator('[data-stat="closed"]').textContent()).not.toBe("0");
    await checkA11y(monitor, "query list");
  }, 90_000);

  it("keeps the query pages within 390 px", async () => {
    const phone = await signedIn("monitor", { width: 390, height: 844 });
    for (const url of [
      `/studies/${STUDY}/queries`,
      formUrl(subject, "screening", "edss"),
      `/studies/${STUDY}/subjects/${subject}`,
    ]) {
      await phone.goto(url);
      expect(await sideways(phone), url).toBe(0);
    }
  }, 60_000);
});
