import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, type E2E, formUrl, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * A site user marks a duplicate adverse event as entered in error and restores
 * it, clicking and typing as a person does; the subject page shows it struck
 * through and labelled in words, and the exports leave it out meanwhile.
 */

let e2e: E2E;
let context: BrowserContext;
let page: Page;
let subject: string;

describeInBrowser("entered in error (issue 9, item 8)", () => {
  beforeAll(async () => {
    e2e = await startE2E();
    const enrolled = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
      site: "site-01",
      arm: "rrms",
    });
    subject = enrolled.body.id;
    for (const [n, term] of [
      [1, "Headache"],
      [2, "Headache again"],
    ] as const) {
      const saved = await e2e.api(
        "site-01",
        "PUT",
        `/studies/${STUDY}/subjects/${subject}/events/logs/forms/adverse_event/instances/${n}`,
        { data: { ae_term: term }, status: "incomplete", rev: 0 },
      );
      expect(saved.status).toBe(200);
    }
    context = await e2e.context();
    page = await context.newPage();
    const token = e2e.env.tokens["site-01"]?.token;
    if (!token) throw new Error("no site-01 token");
    await signIn(page, token);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await e2e?.close();
  });

  const exportedInstances = async () => {
    const res = await e2e.api(
      "monitor",
      "GET",
      `/studies/${STUDY}/records?format=json&subjects=${subject}&forms=adverse_event`,
    );
    return (res.body as Record<string, unknown>[]).map((r) => r.redcap_repeat_instance);
  };

  it("marks a duplicate adverse event with a reason, shows it struck through, and restores it", async () => {
    await page.goto(`/studies/${STUDY}/subjects/${subject}`);
    const log = page.locator("#log-adverse_event");
    await log.getByRole("link", { name: "2", exact: true }).click();
    await page.waitForURL(`**${formUrl(subject, "logs", "adverse_event", 2)}`);

    await page.getByText("Mark as entered in error…").click();
    await page.getByLabel("Reason", { exact: true }).click();
    await page.keyboard.type("Duplicate of AE #1", { delay: 90 });
    await page.getByRole("button", { name: "Mark as entered in error" }).click();
    await page.waitForURL(`**/subjects/${subject}#log-adverse_event`);

    const row = log.locator("tr.in-error");
    await expect(row.count()).resolves.toBe(1);
    expect(await row.textContent()).toContain("Headache again");
    expect(await row.locator(".in-error-label").textContent()).toBe("Entered in error");
    const struck = await row
      .locator("td")
      .nth(1)
      .evaluate((td) => getComputedStyle(td).textDecorationLine);
    expect(struck).toContain("line-through");
    expect(await exportedInstances()).toEqual([1]);

    await row.getByRole("link", { name: "Restore…" }).click();
    await page.waitForURL(`**${formUrl(subject, "logs", "adverse_event", 2)}#restore`);
    const banner = page.locator("#restore");
    expect(await banner.textContent()).toContain("Duplicate of AE #1");
    await expect(page.getByRole("button", { name: "Save as complete" }).count()).resolves.toBe(0);
    await banner.getByLabel("Reason", { exact: true }).click();
    await page.keyboard.type("A second headache, not a copy", { delay: 90 });
    await banner.getByRole("button", { name: "Restore" }).click();
    await page.waitForURL(`**${formUrl(subject, "logs", "adverse_event", 2)}`);
    await page.getByRole("button", { name: "Save as complete" }).waitFor();
    await expect(page.locator("#restore").count()).resolves.toBe(0);
    expect(await exportedInstances()).toEqual([1, 2]);

    const audit = await e2e.api("monitor", "GET", `/studies/${STUDY}/subjects/${subject}/audit`);
    const trail = (audit.body.entries as { action: string; instance?: number; reason?: string }[])
      .filter((e) => e.instance === 2)
      .map((e) => [e.action, e.reason ?? null]);
    expect(trail).toEqual([
      ["save", null],
      ["entered-in-error", "Duplicate of AE #1"],
      ["restore", "A second headache, not a copy"],
    ]);
  }, 60_000);
});
