import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BrowserContext, Page, Request } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { ARTIFACTS, describeInBrowser, type E2E, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * The study builder in a real browser: instruments and versions listed, a
 * form previewed with live branching and saving disabled, the definition
 * editor's problem list checked as you type (no page load), a changed
 * definition uploaded as two files, its impact on stored data, a refused
 * publish, and an accepted one recorded on the new version with the data kept.
 */

const BUILDER = `/studies/${STUDY}/builder`;
const FORMS = path.join(import.meta.dirname, "..", "..", "forms", "instruments");
const ACCEPT_REASON = "Comments no longer collected (amendment 4)";

let e2e: E2E;
let context: BrowserContext;
let page: Page;
let subject: string;
let tmp: string;
const started = Date.now();
const metrics: { stepsMs: Record<string, number>; testsMs: Record<string, number>; totalMs?: number } = {
  stepsMs: {},
  testsMs: {},
};
let testStart = 0;

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await run();
  } finally {
    metrics.stepsMs[name] = Math.round(performance.now() - t0);
  }
}

const text = async (p: Page, selector: string) => ((await p.locator(selector).textContent()) ?? "").trim();
const isHidden = (p: Page, selector: string) =>
  p.locator(selector).evaluate((el) => (el as HTMLElement).hidden);
const instrument = (id: string) => JSON.parse(readFileSync(path.join(FORMS, `${id}.json`), "utf8"));
const formApi = (form: string) => `/studies/${STUDY}/subjects/${subject}/events/screening/forms/${form}`;

/** The live problem list's items and count. */
async function liveErrors(p: Page): Promise<{ count: string | null; items: string[] }> {
  const list = p.locator("#edc-live-errors");
  return {
    count: await list.getAttribute("data-count"),
    items: (await list.locator("li").allTextContents()).map((s) => s.trim()),
  };
}

/** One impact row: severity and the "stored data affected" cell. */
async function change(p: Page, id: string): Promise<{ severity: string | null; affected: string }> {
  const row = p.locator(`table[data-impact] tr[data-change="${id}"]`);
  return {
    severity: await row.getAttribute("data-severity"),
    affected: ((await row.locator("td").nth(2).textContent()) ?? "").trim(),
  };
}

async function versions(): Promise<number[]> {
  const res = await e2e.api("builder", "GET", `/studies/${STUDY}/definitions`);
  expect(res.status).toBe(200);
  return res.body.versions.map((v: { version: number }) => v.version);
}

describeInBrowser("study builder in a browser", () => {
  beforeAll(async () => {
    e2e = await startE2E();
    tmp = await mkdtemp(path.join(tmpdir(), "edc-builder-e2e-"));
    context = await e2e.context();
    page = await context.newPage();
  });

  beforeEach(() => {
    testStart = performance.now();
  });
  afterEach(async (ctx) => {
    metrics.testsMs[ctx.task.name] = Math.round(performance.now() - testStart);
    // axe-core ran on every page this test loaded (browser.ts): any WCAG 2.1 A/AA violation fails it.
    await e2e.assertAccessible();
  });

  afterAll(async () => {
    metrics.totalMs = Date.now() - started;
    console.log(`e2e builder: ${JSON.stringify(metrics)}`);
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (e2e) {
      await writeFile(path.join(ARTIFACTS, "builder-metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
      await e2e.close();
    }
  });

  it("seeds a subject with an MRI comment and a heart rate through the API (site-01)", async () => {
    await step("seed", async () => {
      const enrolled = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
        site: "site-01",
        arm: "rrms",
      });
      expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
      subject = enrolled.body.id;
      const mri = await e2e.api("site-01", "PUT", formApi("mri"), {
        data: { field_strength: "3t", comments: "Stable since the previous scan" },
        status: "incomplete",
        rev: 0,
      });
      expect(mri.status, JSON.stringify(mri.body)).toBe(200);
      const vitals = await e2e.api("site-01", "PUT", formApi("vital_signs"), {
        data: { heart_rate: 150 },
        status: "incomplete",
        rev: 0,
      });
      expect(vitals.status, JSON.stringify(vitals.body)).toBe(200);
    });
  });

  it("lists instruments and version 1, and previews diagnosis with live branching and saving disabled", async () => {
    await step("signIn", () => signIn(page, e2e.env.tokens.builder?.token ?? ""));
    await step("builderPage", async () => {
      await page.getByRole("link", { name: "Study builder" }).click();
      await page.waitForURL(`**${BUILDER}`);
    });
    expect(await text(page, "h1")).toBe("Study builder");
    const listed = await page
      .locator("tr[data-instrument]")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.instrument));
    const files = readdirSync(FORMS)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.replace(/\.json$/, ""));
    expect([...listed].sort()).toEqual([...files].sort());
    expect(
      await page
        .locator("tr[data-version]")
        .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.version)),
    ).toEqual(["1"]);
    expect(await text(page, 'tr[data-version="1"]')).toContain("(current)");

    await step("preview", async () => {
      await page.locator("tr[data-instrument=diagnosis]").getByRole("link", { name: "Preview" }).click();
      await page.waitForURL(`**${BUILDER}/preview/diagnosis`);
    });
    expect(await text(page, "h1")).toContain("(preview)");
    const aqp4 = "[data-field=aqp4_igg]";
    expect(await isHidden(page, aqp4)).toBe(true);
    await page.check("input[name=diagnosis][value=nmosd]");
    await expect.poll(() => isHidden(page, aqp4)).toBe(false);
    await page.check("input[name=diagnosis][value=rrms]");
    await expect.poll(() => isHidden(page, aqp4)).toBe(true);
    for (const name of ["Save as incomplete", "Save as unverified", "Save as complete"]) {
      expect(await page.getByRole("button", { name }).isDisabled(), name).toBe(true);
    }
  });

  it("checks the edited JSON as it is typed, naming the file and pointer, without loading a page", async () => {
    await page.goto(BUILDER);
    await page.locator("tr[data-instrument=mri]").getByRole("link", { name: "Edit" }).click();
    await page.waitForURL(`**${BUILDER}/edit?file=instruments%2Fmri.json`);
    expect(await text(page, "h1")).toBe("Edit instruments/mri.json");
    const editor = page.locator("textarea[data-definition-editor]");
    await expect.poll(async () => (await liveErrors(page)).items).toEqual(["No errors."]);
    const original = await editor.inputValue();
    expect(JSON.parse(original).$id).toBe("mri");

    // From here on, everything happens in the page: no navigation, no request at all.
    const requests: string[] = [];
    const onRequest = (r: Request) => requests.push(`${r.method()} ${r.url()}`);
    let navigations = 0;
    const onNavigate = () => navigations++;
    page.on("request", onRequest);
    page.on("framenavigated", onNavigate);
    await page.evaluate(() => {
      (window as unknown as { edcMarker: string }).edcMarker = "same page";
    });

    /** Types `typed` at `at` in the editor with the keyboard, as a person would. */
    const typeAt = async (at: number, typed: string) => {
      await editor.evaluate((el, i) => {
        const t = el as HTMLTextAreaElement;
        t.focus();
        t.setSelectionRange(i, i);
      }, at);
      await page.keyboard.type(typed);
    };
    /** Deletes `length` characters after `at` with the keyboard. */
    const deleteAt = async (at: number, length: number) => {
      await editor.evaluate(
        (el, [i, n]) => {
          const t = el as HTMLTextAreaElement;
          t.focus();
          t.setSelectionRange(i as number, (i as number) + (n as number));
        },
        [at, length],
      );
      await page.keyboard.press("Backspace");
    };

    await step("liveTypo", async () => {
      // A typo'd annotation inside scan_date.
      const at = original.indexOf('"scan_date": {') + '"scan_date": {'.length;
      const typo = '"x-visble-if": true, ';
      await typeAt(at, typo);
      await expect
        .poll(async () => (await liveErrors(page)).items.join("\n"))
        .toContain("instruments/mri.json: /properties/scan_date/x-visble-if");
      expect((await liveErrors(page)).count).not.toBe("0");
      expect(await editor.getAttribute("aria-invalid")).toBe("true");
      await deleteAt(at, typo.length);
      await expect.poll(async () => liveErrors(page)).toEqual({ count: "0", items: ["No errors."] });
      expect(await editor.inputValue()).toBe(original);
    });

    await step("liveInvalidJson", async () => {
      // Not JSON at all: a stray character before the opening brace.
      await typeAt(0, "x");
      await expect
        .poll(async () => (await liveErrors(page)).items.join("\n"))
        .toMatch(/^instruments\/mri\.json: invalid JSON: /);
      expect((await liveErrors(page)).count).toBe("1");
      await deleteAt(0, 1);
      await expect.poll(async () => liveErrors(page)).toEqual({ count: "0", items: ["No errors."] });
      expect(await editor.getAttribute("aria-invalid")).toBe("false");
    });

    page.off("request", onRequest);
    page.off("framenavigated", onNavigate);
    expect(requests).toEqual([]);
    expect(navigations).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { edcMarker?: string }).edcMarker)).toBe(
      "same page",
    );
  });

  it("uploads two changed instrument files and shows their impact on the stored data", async () => {
    const mri = instrument("mri");
    delete mri.properties.comments;
    mri.properties.scanner_model = { type: "string", title: "Scanner model", maxLength: 200 };
    const vitals = instrument("vital_signs");
    vitals.properties.heart_rate.maximum = 120; // the stored 150 would now fail
    await writeFile(path.join(tmp, "mri.json"), `${JSON.stringify(mri, null, 2)}\n`);
    await writeFile(path.join(tmp, "vital_signs.json"), `${JSON.stringify(vitals, null, 2)}\n`);

    await page.goto(BUILDER);
    await step("upload", async () => {
      await page.setInputFiles("#f-upload", [path.join(tmp, "mri.json"), path.join(tmp, "vital_signs.json")]);
      await page.getByRole("button", { name: "Check and show impact" }).click();
      await page.waitForURL(`**${BUILDER}/draft`);
      await page.locator("table[data-impact]").waitFor();
    });
    expect(await text(page, "h1")).toBe("Impact of the change");
    expect(await page.locator("[data-definition-errors]").count()).toBe(0);
    expect(
      await page
        .locator("table[data-impact] tr[data-change]")
        .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.change)),
    ).toEqual([
      "field-removed:mri.comments",
      "constraint-changed:vital_signs.heart_rate",
      "field-added:mri.scanner_model",
    ]);
    expect(await change(page, "field-removed:mri.comments")).toEqual({
      severity: "destructive",
      affected: "1",
    });
    expect(await change(page, "field-added:mri.scanner_model")).toMatchObject({ severity: "safe" });
    expect(await change(page, "constraint-changed:vital_signs.heart_rate")).toEqual({
      severity: "review",
      affected: "1",
    });
    expect((await text(page, "[data-summary]")).replace(/\s+/g, " ")).toBe(
      "Against version 1: 1 destructive, 1 to review, 1 safe.",
    );
    expect(
      await page
        .locator("input[name=accept]")
        .evaluateAll((is) => is.map((i) => (i as HTMLInputElement).value)),
    ).toEqual(["field-removed:mri.comments"]);
    await page.screenshot({ path: path.join(ARTIFACTS, "builder-impact.png"), fullPage: true });
  });

  it("after a refused publish, keeps what was typed and the way to accept the destructive change", async () => {
    // In a second tab, so the main flow below goes on from the impact page whatever this finds.
    const p = await context.newPage();
    try {
      await p.goto(BUILDER);
      await p.setInputFiles("#f-upload", [path.join(tmp, "mri.json"), path.join(tmp, "vital_signs.json")]);
      await p.getByRole("button", { name: "Check and show impact" }).click();
      await p.locator("table[data-impact]").waitFor();

      // Not accepted: refused (409), and the reason already given is still there.
      await p.fill("#f-reason", "Protocol amendment 4");
      await p.getByRole("button", { name: "Publish" }).click();
      await p.waitForURL(`**${BUILDER}/publish`);
      await p.locator(".notice.bad").waitFor();
      expect(await text(p, ".notice.bad")).toContain("Not published");
      expect
        .soft(await p.inputValue("#f-reason"), "409 page: the reason typed before must be kept")
        .toBe("Protocol amendment 4");

      // Accepted without saying why: refused (422), and the way to accept stays on the page.
      await p.fill("#f-reason", "Protocol amendment 4");
      await p.check('input[name=accept][value="field-removed:mri.comments"]');
      await p.getByRole("button", { name: "Publish" }).click();
      await p.locator("[data-definition-errors]").waitFor();
      expect(await text(p, "[data-definition-errors]")).toContain(
        "Give a reason for accepting destructive changes.",
      );
      expect(await versions()).toEqual([1]);
      const accept = p.locator('input[name=accept][value="field-removed:mri.comments"]');
      expect.soft(await accept.count(), "422 page: the accept checkbox must still be offered").toBe(1);
      if ((await accept.count()) === 1) {
        expect.soft(await accept.isChecked(), "422 page: the ticked change must stay ticked").toBe(true);
      }
      expect
        .soft(await p.locator("#f-accept_reason").count(), "422 page: the acceptance reason field")
        .toBe(1);
      expect.soft(await p.locator("table[data-impact]").count(), "422 page: the impact table").toBe(1);
      expect
        .soft(await p.inputValue("#f-reason"), "422 page: the reason typed before must be kept")
        .toBe("Protocol amendment 4");
    } finally {
      await p.close();
    }
  });

  it("refuses to publish the destructive change unaccepted, then publishes it accepted as version 2", async () => {
    await step("publishRefused", async () => {
      await page.fill("#f-reason", "Protocol amendment 4");
      await page.getByRole("button", { name: "Publish" }).click();
      await page.waitForURL(`**${BUILDER}/publish`);
      await page.locator(".notice.bad").waitFor();
    });
    expect(await text(page, ".notice.bad")).toContain("Not published");
    expect(await text(page, "h1")).toBe("Impact of the change");
    expect(await versions()).toEqual([1]);

    await step("publishAccepted", async () => {
      await page.fill("#f-reason", "Protocol amendment 4");
      await page.check('input[name=accept][value="field-removed:mri.comments"]');
      await page.fill("#f-accept_reason", ACCEPT_REASON);
      await page.getByRole("button", { name: "Publish" }).click();
      await page.locator("h1", { hasText: "Published version 2" }).waitFor();
    });
    expect(await text(page, ".notice.ok")).toContain("Version 2 is live.");
    expect(await versions()).toEqual([2, 1]);

    await page.getByRole("link", { name: "← Study builder" }).click();
    await page.waitForURL(`**${BUILDER}`);
    const v2 = page.locator('tr[data-version="2"]');
    expect(await text(page, 'tr[data-version="2"]')).toContain("(current)");
    expect(await v2.locator("td").nth(2).textContent()).toBe("Protocol amendment 4");
    expect(await v2.locator("td").nth(3).textContent()).toBe("1 destructive, 1 review, 1 safe");
    expect(await v2.locator("td").nth(4).textContent()).toBe(
      `field-removed:mri.comments — “${ACCEPT_REASON}” (dev-builder)`,
    );
    expect(await text(page, "main")).toContain("Published version 2");

    const listed = await e2e.api("builder", "GET", `/studies/${STUDY}/definitions`);
    expect(listed.body.versions[0]).toMatchObject({
      version: 2,
      current: true,
      reason: "Protocol amendment 4",
      acceptance: { by: "dev-builder", reason: ACCEPT_REASON, changes: ["field-removed:mri.comments"] },
    });
    // The removed field's stored value is still read back, as retired data.
    const stored = await e2e.api("site-01", "GET", formApi("mri"));
    expect(stored.status).toBe(200);
    expect(stored.body.data).toMatchObject({
      field_strength: "3t",
      comments: "Stable since the previous scan",
    });
    const current = await e2e.api("builder", "GET", `/studies/${STUDY}/definitions/2`);
    expect(Object.keys(current.body.instruments.mri.properties)).not.toContain("comments");
    expect(current.body.instruments.mri.properties.scanner_model).toMatchObject({ title: "Scanner model" });
  });
});
