import { rmSync } from "node:fs";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ID, writeArmsStudy } from "../integration/arms-study.ts";
import { describeInBrowser, type E2E, startE2E } from "./browser.ts";

/**
 * A study without day one whose baseline visit collects fewer forms in arm
 * "gamma" and repeats its notes: the subject page shows the arm's forms only,
 * each note by number, and a link to add another.
 */

let e2e: E2E;
let context: BrowserContext;
let page: Page;
let dir: string;
let subject: string;

describeInBrowser("per-arm forms and a form repeating at a visit (issue 13)", () => {
  beforeAll(async () => {
    dir = writeArmsStudy();
    e2e = await startE2E({ studyDirs: [dir] });
    const token = e2e.env.studies[ID]?.tokens["site-01"]?.token ?? "";
    const api = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${e2e.baseURL}/api/v1/studies/${ID}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const enrolled = await api("POST", "/subjects", { site: "site-01", arm: "gamma" });
    expect(enrolled.status).toBe(201);
    subject = enrolled.body.id;
    const saved = await api("PUT", `/subjects/${subject}/events/baseline/forms/notes/instances/1`, {
      data: { note: "first" },
      status: "incomplete",
      rev: 0,
    });
    expect(saved.status).toBe(200);
    context = await e2e.context();
    page = await context.newPage();
    await page.goto("/signin");
    await page.fill("#f-token", token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`**/studies/${ID}`);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await e2e?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows only the arm's forms at the visit, and adds another instance of the repeating form", async () => {
    await page.goto(`/studies/${ID}/subjects/${subject}`);
    expect(await page.getByText("no study day 1: this protocol has no visit windows").count()).toBe(1);
    const baseline = page.locator('[data-event="baseline"]');
    expect(await baseline.getByRole("link", { name: "Visit" }).count()).toBe(1);
    expect(await baseline.getByRole("link", { name: /^Labs/ }).count()).toBe(0);
    expect(await baseline.getByRole("link", { name: "Notes #1" }).count()).toBe(1);
    await baseline.getByRole("link", { name: "Add another notes" }).click();
    await page.waitForURL(`**/events/baseline/forms/notes/instances/2`);
    await page.fill("#f-note", "second");
    await page.getByRole("button", { name: /^Save/ }).first().click();
    await page.goto(`/studies/${ID}/subjects/${subject}`);
    expect(await baseline.getByRole("link", { name: "Notes #2" }).count()).toBe(1);
    expect(await baseline.locator("td").first().textContent()).toBe("day 1");
    await e2e.assertAccessible();
  });
});
