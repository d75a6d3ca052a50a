import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildCasebookPlan, seedSubjects } from "../bench/seed-study.ts";
import { describeInBrowser, type E2E, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * The dashboard with more subjects than a screen holds: its header row stays
 * in view while a person scrolls the list with the mouse wheel, and the id
 * filter works typed key by key.
 */

const DASHBOARD = `/studies/${STUDY}`;
const SUBJECTS = 60;

let e2e: E2E;
let context: BrowserContext;
let page: Page;

describeInBrowser("dashboard at scale", () => {
  beforeAll(async () => {
    e2e = await startE2E();
    const { store, tableName } = e2e.env;
    const definition = await store.definitions.current(STUDY);
    const version = (await store.listDefinitions(STUDY)).find((v) => v.current)?.version;
    if (!definition || version === undefined) throw new Error("no published definition");
    const plan = buildCasebookPlan(definition, { definitionVersion: version, maxSubjects: SUBJECTS });
    await seedSubjects(store.db.doc, tableName, plan, { from: 0, to: SUBJECTS });
    context = await e2e.context({ viewport: { width: 1024, height: 700 } });
    page = await context.newPage();
    await signIn(page, e2e.env.tokens.monitor?.token as string);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await e2e?.close();
  });

  /** Where the header row is, and what a person sees at its middle. */
  const header = () =>
    page.evaluate(() => {
      const th = document.querySelector(".dashboard thead th") as HTMLElement;
      const r = th.getBoundingClientRect();
      const seen = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      const firstRow = document.querySelector(".dashboard tbody tr") as HTMLElement;
      return {
        top: r.top,
        bottom: r.bottom,
        viewport: window.innerHeight,
        visible: seen !== null && th.contains(seen),
        firstRowTop: firstRow.getBoundingClientRect().top,
      };
    });

  it("keeps the header row in view while the list is scrolled with the wheel", async () => {
    await page.goto(DASHBOARD);
    expect(await page.locator(".dashboard tbody tr").count()).toBe(50);
    const before = await header();
    expect(before.visible).toBe(true);
    const table = await page.locator(".dashboard tbody").boundingBox();
    if (!table) throw new Error("no table");
    await page.mouse.move(table.x + 200, table.y + 100);
    // A page of 50 rows scrolls its own box by less than a screen or two: wheel within that range (past its
    // end the wheel scrolls the window, as browsers chain scrolling), at a person's pace.
    const range = await page
      .locator(".dash-scroll")
      .evaluate((box) => Math.min(800, box.scrollHeight - box.clientHeight));
    expect(range).toBeGreaterThan(300);
    for (let scrolled = 0; scrolled + 100 <= range; scrolled += 100) {
      await page.mouse.wheel(0, 100);
      await page.waitForTimeout(60);
    }
    // Ask the page until the scroll settles: the first rows have gone under the header, the header is still shown.
    await expect
      .poll(async () => (await header()).firstRowTop, { timeout: 5_000 })
      .toBeLessThan(before.firstRowTop - (range - 100));
    const after = await header();
    expect(after.top).toBeGreaterThanOrEqual(0);
    expect(after.bottom).toBeLessThanOrEqual(after.viewport);
    expect(after.firstRowTop).toBeLessThan(after.top);
    expect(after.visible).toBe(true);
  });

  it("filters by subject id as it is typed, and pages the rest", async () => {
    await page.goto(DASHBOARD);
    await expect.poll(() => page.locator("nav.pager").textContent()).toContain("Next page");
    await page.getByLabel("Subject id starts with").click();
    await page.keyboard.type("01-00", { delay: 100 });
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/q=01-00/);
    const ids = await page
      .locator(".dashboard tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-subject")));
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id?.startsWith("01-00"))).toBe(true);
    expect(await page.locator("nav.pager").count()).toBe(0);
  });
});
