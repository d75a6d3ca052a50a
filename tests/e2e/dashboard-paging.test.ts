import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildCasebookPlan, casebookItems } from "../bench/seed-study.ts";
import { describeInBrowser, type E2E, STUDY, startE2E } from "./browser.ts";

/**
 * The dashboard past 500 subjects, paged forward to the end and back to the
 * start with real clicks and keys: on a phone (390×844, de-DE) as one site's
 * coordinator, every row of that site only and nothing wider than the screen;
 * at a desktop (en-US) as the monitor of every site. Paging back gives the
 * pages paging forward gave, numbered the same.
 */

const SUBJECTS = 520;
const PAGE = 50;

let e2e: E2E;
const contexts: BrowserContext[] = [];

/** Subjects and their summaries only (the dashboard reads nothing else): seconds, not 500 saves. */
async function seed() {
  const { store, tableName } = e2e.env;
  const definition = await store.definitions.current(STUDY);
  const version = (await store.listDefinitions(STUDY)).find((v) => v.current)?.version;
  if (!definition || version === undefined) throw new Error("no published definition");
  const plan = buildCasebookPlan(definition, { definitionVersion: version, maxSubjects: SUBJECTS });
  const items = Array.from({ length: SUBJECTS }, (_, n) =>
    casebookItems(plan, n).filter((i) => i.type === "subject" || i.type === "summary"),
  ).flat();
  for (let i = 0; i < items.length; i += 25) {
    const batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    const out = await store.db.doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: batch } }));
    expect(Object.keys(out.UnprocessedItems ?? {})).toEqual([]);
  }
}

interface Shown {
  ids: string[];
  caption: string;
}

const shown = async (page: Page): Promise<Shown> => ({
  ids: (await page
    .locator(".dashboard tbody tr")
    .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-subject")))) as string[],
  caption: (await page.getByText(/^Subjects \d/).textContent()) ?? "",
});

/** Whether anything makes the page wider than the window (the list scrolls in its own box). */
const overflows = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

/** Every page forward by clicking "Next page", then back by Enter on "Previous page"; what each showed. */
async function pageThrough(page: Page, phone: boolean) {
  const forward: Shown[] = [await shown(page)];
  while ((await page.getByRole("link", { name: "Next page" }).count()) > 0) {
    const before = page.url();
    await page.getByRole("link", { name: "Next page" }).click();
    await page.waitForURL((url) => url.href !== before);
    const now = await shown(page);
    if (now.ids.length === 0) break; // a last page exactly full leaves "No more subjects match"
    forward.push(now);
    if (phone) expect(await overflows(page)).toBe(false);
  }
  const backward: Shown[] = [forward.at(-1) as Shown];
  if ((await shown(page)).ids.length === 0) {
    await page.getByRole("link", { name: "Previous page" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(/after=/);
  }
  while ((await page.getByRole("link", { name: "Previous page" }).count()) > 0) {
    const before = page.url();
    await page.getByRole("link", { name: "Previous page" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => url.href !== before);
    backward.unshift(await shown(page));
    if (phone) expect(await overflows(page)).toBe(false);
  }
  return { forward, backward };
}

function expectWholeList(pages: Shown[], ids: string[]) {
  expect(pages.flatMap((p) => p.ids)).toEqual(ids);
  pages.forEach((p, i) => {
    expect(p.ids.length).toBe(i < pages.length - 1 ? PAGE : ids.length - PAGE * (pages.length - 1));
    expect(p.caption).toContain(`Subjects ${i * PAGE + 1}–${i * PAGE + p.ids.length}`);
  });
}

describeInBrowser("dashboard past 500 subjects, paged both ways", () => {
  beforeAll(async () => {
    // axe-core on each of some forty loads of a 50-row table would be most of the time: a11y.test.ts checks the dashboard.
    e2e = await startE2E({ a11yOnLoad: false });
    await seed();
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await e2e?.close();
  });

  it("on a phone in de-DE, a site's coordinator pages its 260 subjects forward and back, none wider than the screen", async () => {
    const { context, page } = await e2e.signedInPage("site-01", {
      viewport: { width: 390, height: 844 },
      locale: "de-DE",
      timezoneId: "Europe/Berlin",
      isMobile: true,
      hasTouch: true,
    });
    contexts.push(context);
    expect(await overflows(page)).toBe(false);
    const { forward, backward } = await pageThrough(page, true);
    const site01 = Array.from({ length: SUBJECTS / 2 }, (_, i) => `01-${String(i + 1).padStart(3, "0")}`);
    expectWholeList(forward, site01);
    expect(backward).toEqual(forward);
    // Back on the first page: nothing before it.
    expect(await page.getByRole("link", { name: "Previous page" }).count()).toBe(0);
    expect((await shown(page)).ids[0]).toBe("01-001");
  }, 180_000);

  it("at a desktop in en-US, the monitor pages all 520 subjects forward and back", async () => {
    const { context, page } = await e2e.signedInPage("monitor", { locale: "en-US" });
    contexts.push(context);
    const { forward, backward } = await pageThrough(page, false);
    expect(forward.flatMap((p) => p.ids)).toHaveLength(SUBJECTS);
    expect(new Set(forward.flatMap((p) => p.ids)).size).toBe(SUBJECTS);
    expectWholeList(forward, forward.flatMap((p) => p.ids).sort());
    expect(backward).toEqual(forward);
  }, 240_000);
});
