import { readFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import type { FieldSchema, Instrument, StudyFile } from "../../functions/engine/definition.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import {
  A11yWatch,
  checkA11y,
  describeInBrowser,
  type E2E,
  formUrl,
  STUDY,
  signIn,
  startE2E,
} from "./browser.ts";

/**
 * Accessibility and small-screen use (issue 9 items 6, 10, 11 and the axe-core
 * acceptance): axe-core (WCAG 2.1 A/AA) on every kind of page — sign-in, the
 * dashboard with none and many subjects, enrol, a subject, every instrument's
 * form empty / with errors / with history, the audit trail, the builder pages
 * and the exports — and the status, wording, phone and tablet checks.
 */

const FORMS = path.join(import.meta.dirname, "..", "..", "forms");
const study = JSON.parse(readFileSync(path.join(FORMS, "study.json"), "utf8")) as StudyFile;
const instrument = (id: string) =>
  JSON.parse(readFileSync(path.join(FORMS, "instruments", `${id}.json`), "utf8")) as Instrument;
const DASHBOARD = `/studies/${STUDY}`;
const SUBJECT = "01-201";
const subjectPage = (id: string) => `/studies/${STUDY}/subjects/${id}`;

/** Where each instrument is first used: its event (or `logs`) and instance. */
const placements: { form: string; event: string; instance?: number }[] = [];
for (const e of study.events) {
  for (const form of e.forms) {
    if (!placements.some((p) => p.form === form))
      placements.push({ form, event: e.id, ...(e.repeatable ? { instance: 1 } : {}) });
  }
}
for (const form of study.logs) placements.push({ form, event: "logs", instance: 1 });

/** A value a field accepts on an incomplete save, or undefined when the field is not a simple one. */
function sample(schema: FieldSchema, n: number): unknown {
  if (schema.readOnly || schema["x-visible-if"]) return undefined;
  if (schema.type === "number" || schema.type === "integer") {
    if (schema.oneOf) return undefined;
    const min = typeof schema.minimum === "number" ? schema.minimum : 0;
    return min + n;
  }
  if (schema.type === "boolean") return n === 1;
  if (schema.type === "string" && schema.format === "date") return `2026-01-1${n}`;
  if (schema.type === "string" && !schema.oneOf && !schema.pattern && !schema.format) return `note ${n}`;
  return undefined;
}

let e2e: E2E;
let page: Page;

async function signedIn(as: string, options: Parameters<E2E["context"]>[0] = {}) {
  const context = await e2e.context(options);
  const p = await context.newPage();
  await signIn(p, e2e.env.tokens[as]?.token ?? "");
  return { context, page: p };
}

async function enrol(id: string, arm = "rrms") {
  const res = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
    site: "site-01",
    arm,
    subjectId: id,
  });
  expect(res.status).toBe(201);
}

const text = async (p: Page, selector: string) =>
  ((await p.locator(selector).first().textContent()) ?? "").trim();

describeInBrowser("accessibility (axe-core, WCAG 2.1 A/AA) and small screens", () => {
  beforeAll(async () => {
    // Every page here is checked explicitly, in the state the test puts it in.
    e2e = await startE2E({ a11yOnLoad: false });
    ({ page } = await signedIn("site-01"));
  });
  afterEach(async () => {
    await e2e.assertAccessible();
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it("the axe-core watch on page loads fails a page with a violation (the suite cannot pass unchecked)", async () => {
    const watch = new A11yWatch();
    const context = await e2e.browser.newContext();
    watch.watch(context);
    const p = await context.newPage();
    await p.setContent(
      '<html lang="en"><head><title>t</title></head><body><main><img src="data:,"></main></body></html>',
    );
    await expect(watch.assertNone()).rejects.toThrow(/image-alt/);
    expect(watch.checked).toBeGreaterThan(0);
    await context.close();
  });

  it("sign-in, the empty dashboard and the enrol page (also with errors) have no violations", async () => {
    const anonymous = await (await e2e.context()).newPage();
    await anonymous.goto("/signin");
    await checkA11y(anonymous, "sign-in");
    await anonymous.fill("#f-token", "wrong");
    await anonymous.getByRole("button", { name: "Sign in" }).click();
    await anonymous.locator(".notice.bad").waitFor();
    await checkA11y(anonymous, "sign-in refused");

    await page.goto(DASHBOARD);
    expect(await page.locator("table.dashboard tbody tr").count()).toBe(0);
    await checkA11y(page, "dashboard, no subjects");

    await page.goto(`${DASHBOARD}/enrol`);
    await checkA11y(page, "enrol");
    await page.check("input[name=arm][value=rrms]");
    // Another site's id: refused with a message at the field.
    await page.fill("#f-subjectId", "02-999");
    await page.getByRole("button", { name: "Enrol", exact: true }).click();
    await page.locator(".error:not(:empty)").first().waitFor();
    await checkA11y(page, "enrol with errors");
  });

  it("every instrument's form page: empty, with errors and with history", async () => {
    await enrol(SUBJECT);
    for (const { form, event, instance } of placements) {
      const url = formUrl(SUBJECT, event, form, instance);
      await page.goto(url);
      await checkA11y(page, `${form} empty`);

      await page.getByRole("button", { name: "Save as complete" }).click();
      await page.locator("[aria-invalid=true]").first().waitFor();
      await checkA11y(page, `${form} with errors`);

      const schemas = instrument(form).properties;
      const field = Object.keys(schemas).find(
        (name) => sample(schemas[name] as FieldSchema, 1) !== undefined,
      );
      if (!field) throw new Error(`${form}: no simple field to give a history`);
      const at = `/studies/${STUDY}/subjects/${SUBJECT}/events/${event}/forms/${form}${instance ? `/instances/${instance}` : ""}`;
      for (const [rev, n] of [
        [0, 1],
        [1, 2],
      ] as const) {
        const saved = await e2e.api("site-01", "PUT", at, {
          rev,
          status: "incomplete",
          data: { [field]: sample(schemas[field] as FieldSchema, n) },
        });
        expect(saved.status, `${form}: ${JSON.stringify(saved.body)}`).toBeLessThan(300);
      }
      await page.goto(url);
      await page.locator(`details.history[data-history=${field}] summary`).click();
      await checkA11y(page, `${form} with history`);
    }
  }, 240_000);

  it("the subject page, the audit trail and a dashboard with many subjects", async () => {
    for (let n = 0; n < 24; n++) await enrol(`01-${300 + n}`, n % 2 ? "nmo" : "rrms");
    await page.goto(subjectPage(SUBJECT));
    await checkA11y(page, "subject");
    await page.getByRole("link", { name: "Audit trail" }).click();
    await page.waitForURL(`**${subjectPage(SUBJECT)}/audit`);
    await checkA11y(page, "audit trail");
    await page.goto(DASHBOARD);
    expect(await page.locator("table.dashboard tbody tr").count()).toBeGreaterThan(20);
    await checkA11y(page, "dashboard, many subjects");
  }, 120_000);

  it("the builder pages and the exports page", async () => {
    const { page: builder } = await signedIn("builder");
    for (const url of [
      `${DASHBOARD}/builder`,
      `${DASHBOARD}/builder/edit`,
      `${DASHBOARD}/builder/preview/demographics`,
      `${DASHBOARD}/exports`,
      "/account/keys",
    ]) {
      await builder.goto(url);
      await checkA11y(builder, url);
    }
    // The service key page is the admins'.
    e2e.env.tokens.admin = await storeDevKey(e2e.env.store, "a11y-admin-key", {
      user: "a11y-admin",
      role: "admin",
      study: STUDY,
      sites: [ALL_SITES],
    });
    const admin = await (await e2e.context()).newPage();
    await admin.goto("/signin");
    await admin.fill("#f-token", e2e.env.tokens.admin.token);
    await admin.getByRole("button", { name: "Sign in" }).click();
    // An admin reads no subject data: the landing page is the people page.
    await admin.waitForURL(`**${DASHBOARD}/people`);
    await admin.goto(`${DASHBOARD}/builder/tokens`);
    await checkA11y(admin, "service keys (admin)");
    const { page: monitor } = await signedIn("monitor");
    await monitor.goto(`${DASHBOARD}/exports`);
    await checkA11y(monitor, "exports (monitor)");

    // Source data verification and locks: what a monitor and a data manager see and press.
    const id = "01-209";
    await enrol(id);
    const vitals = `/studies/${STUDY}/subjects/${id}/events/screening/forms/vital_signs`;
    const saved = await e2e.api("site-01", "PUT", vitals, {
      rev: 0,
      status: "incomplete",
      data: { heart_rate: 70, temperature: 36.6 },
    });
    expect(saved.status).toBeLessThan(300);
    await monitor.goto(vitals);
    await checkA11y(monitor, "form with verification (monitor)");
    await monitor.getByRole("button", { name: "Verify the whole form" }).click();
    await monitor.locator('[data-sdv-field="heart_rate"][data-sdv="verified"]').waitFor();
    await monitor.goto(subjectPage(id));
    await checkA11y(monitor, "subject with verification progress (monitor)");
    await monitor.goto(`${DASHBOARD}?sdv=1`);
    await checkA11y(monitor, "dashboard with verification progress (monitor)");
    e2e.env.tokens.data_manager = await storeDevKey(e2e.env.store, "a11y-data-manager-key", {
      user: "a11y-data-manager",
      role: "data_manager",
      study: STUDY,
      sites: [ALL_SITES],
    });
    const { page: dm } = await signedIn("data_manager");
    await dm.goto(vitals);
    await checkA11y(dm, "form with lock buttons (data manager)");
    await dm.getByRole("button", { name: "Lock this visit" }).click();
    // Back on the subject page, the visit's lock listed with its unlock form.
    await dm.locator('[data-lock="visit"]').waitFor();
    await checkA11y(dm, "subject with its locks (data manager)");
    await dm.goto(vitals);
    await dm.locator('[data-locked="visit"]').waitFor();
    await checkA11y(dm, "locked form with the unlock form (data manager)");
  }, 180_000);

  it("item 6: a visit is done only when all its forms are complete, and every status has a text equivalent", async () => {
    const id = "01-202";
    await enrol(id);
    const consent = `/studies/${STUDY}/subjects/${id}/events/screening/forms/consent`;
    const saved = await e2e.api("site-01", "PUT", consent, {
      rev: 0,
      status: "incomplete",
      data: { consent_version: "2.1" },
    });
    expect(saved.status).toBeLessThan(300);
    await page.goto(subjectPage(id));
    const screening = page.locator("tr#event-screening");
    // One of eight forms saved: the visit has started, it is not done.
    expect(await screening.locator(".badge").allTextContents()).not.toContain("done");
    expect(await text(page, "tr#event-screening [data-progress]")).toBe("0 of 8 forms complete");
    // Each status mark is decoration beside its words, not colour and title alone.
    const marks = await page.locator("main .st").evaluateAll((els) =>
      els.map((el) => ({
        hidden: el.getAttribute("aria-hidden"),
        words: el.parentElement?.textContent?.trim(),
      })),
    );
    expect(marks.length).toBeGreaterThan(8);
    for (const mark of marks) {
      expect(mark).toEqual({
        hidden: "true",
        words: expect.stringMatching(/^(Not started|Incomplete|Unverified|Complete)$/),
      });
    }
    // "Not started" is not drawn as an empty checkbox: round and dashed.
    const notStarted = await page
      .locator(".st-not_started")
      .first()
      .evaluate((el) => {
        const s = getComputedStyle(el);
        return { radius: s.borderTopLeftRadius, style: s.borderTopStyle };
      });
    expect(notStarted).toEqual({ radius: "50%", style: "dashed" });

    await page.goto(`${DASHBOARD}?q=${id}`);
    const cell = page.locator(`tr[data-subject="${id}"] td[data-event=screening]`);
    // Forms complete of the visit's forms (named in the column heading), and the shade said in words too.
    expect(await cell.textContent()).toBe("0/8");
    expect(await cell.evaluate((el) => getComputedStyle(el, "::after").content)).toBe('", some incomplete"');
    await checkA11y(page, "dashboard with statuses");
  });

  it("item 10: wording — unscheduled visit button, study title, time zone, day 1 by labels, pattern format", async () => {
    const id = "01-203";
    await enrol(id);
    await page.goto(subjectPage(id));
    expect(await text(page, "header.top")).toContain(study.title);
    const add = page.locator("tr#event-unscheduled a.button");
    expect((await add.textContent())?.trim()).toBe("Add unscheduled visit");
    // It opens the visit's own form first: when and why, before any measurement.
    await add.click();
    await page.waitForURL(`**${formUrl(id, "unscheduled", "unscheduled_visit", 1)}`);
    expect(await page.locator("#f-unsched_date").count()).toBe(1);
    expect(await text(page, "main")).toContain("Reason for the visit");
    await page.goto(subjectPage(id));
    expect(await text(page, "main")).toContain(
      "day 1 not yet known (it is the Date of infusion of hUC-MSC infusion at IV infusion 1 (day 1))",
    );

    const consent = `/studies/${STUDY}/subjects/${id}/events/screening/forms/consent`;
    expect(
      (await e2e.api("site-01", "PUT", consent, { rev: 0, status: "incomplete", data: {} })).status,
    ).toBe(200);
    await page.goto(formUrl(id, "screening", "consent"));
    expect(await text(page, "main > p:nth-of-type(2)")).toMatch(/saved \d{4}-\d\d-\d\d \d\d:\d\d UTC by/);

    await page.goto(formUrl(id, "screening", "demographics"));
    await page.locator("#f-initials").click();
    await page.keyboard.type("ab1", { delay: 90 });
    await page.keyboard.press("Tab");
    await expect.poll(() => text(page, "#e-initials")).toContain("2 or 3 capitals, e.g. JD");
  });

  it("item 10: the subject's audit trail in the browser (who, when, form, field, old → new, reason)", async () => {
    await page.goto(subjectPage(SUBJECT));
    await page.getByRole("link", { name: "Audit trail" }).click();
    await page.waitForURL(`**${subjectPage(SUBJECT)}/audit`);
    const rows = page.locator("table.audit tbody tr");
    expect(await rows.count()).toBeGreaterThan(1);
    const all = await text(page, "table.audit");
    expect(all).toContain("dev-site-01");
    expect(all).toContain("UTC");
    expect(all).toContain("Vital signs");
    expect(all).toMatch(/→/);
    // Monitors read it too; it is the API audit route's authorization.
    const { page: monitor } = await signedIn("monitor");
    const res = await monitor.goto(`${subjectPage(SUBJECT)}/audit`);
    expect(res?.status()).toBe(200);
  });

  for (const viewport of [
    { width: 390, height: 844 },
    { width: 768, height: 1024 },
  ]) {
    // The two sizes side by side: each has its own context and subject.
    it.concurrent(`item 11: ${viewport.width}×${viewport.height} — no sideways scroll, dates whole, focus ring ≥ 3:1, targets ≥ 24 px`, async ({
      expect,
    }) => {
      const { page: small } = await signedIn("site-01", {
        viewport,
        isMobile: viewport.width < 500,
        hasTouch: true,
      });
      // A subject of its own, with logs that have dates and long words in them.
      const id = viewport.width < 500 ? "01-204" : "01-205";
      await enrol(id);
      const logs = `/studies/${STUDY}/subjects/${id}/events/logs/forms`;
      for (const [form, data] of [
        [
          "adverse_event",
          { ae_term: "Injection-site-hypersensitivity-with-generalised-urticaria", onset_date: "2026-01-12" },
        ],
        [
          "con_med",
          { drug: "Methylprednisolone-sodium-succinate", indication: "Relapse-treatment-protocol" },
        ],
      ] as const) {
        const saved = await e2e.api("site-01", "PUT", `${logs}/${form}/instances/1`, {
          rev: 0,
          status: "incomplete",
          data,
        });
        expect(saved.status, JSON.stringify(saved.body)).toBe(200);
      }
      for (const url of [
        DASHBOARD,
        subjectPage(id),
        formUrl(id, "screening", "demographics"),
        `${subjectPage(id)}/audit`,
      ]) {
        await small.goto(url);
        const sideways = await small.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        const wide =
          sideways > 0
            ? await small.evaluate(() =>
                [...document.querySelectorAll("body *")]
                  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth)
                  .slice(0, 5)
                  .map((el) => `${el.tagName.toLowerCase()}.${el.className}`)
                  .join(", "),
              )
            : "";
        expect(sideways, `${url} scrolls sideways by ${sideways}px (${wide})`).toBeLessThanOrEqual(0);
      }
      await small.goto(subjectPage(id));
      const wrapped = await small
        .locator(".date")
        .evaluateAll((els) => els.filter((el) => el.getClientRects().length > 1).length);
      expect(wrapped).toBe(0);

      await small.goto(DASHBOARD);
      const sizes = await small
        .locator("table.dashboard th[scope=row] a")
        .evaluateAll((els) =>
          els.map((el) => el.getBoundingClientRect()).map((r) => Math.min(r.width, r.height)),
        );
      expect(sizes.length).toBeGreaterThan(0);
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(24);

      await small.keyboard.press("Tab");
      const ratio = await small.evaluate(() => {
        const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
        const lum = ([r, g, b]: number[]) =>
          [r, g, b]
            .map((v) => (v ?? 0) / 255)
            .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
            .reduce((n, v, i) => n + v * ([0.2126, 0.7152, 0.0722][i] ?? 0), 0);
        const focused = document.activeElement as HTMLElement;
        const ring = lum(rgb(getComputedStyle(focused).outlineColor));
        const page = lum(rgb(getComputedStyle(document.body).backgroundColor));
        return (Math.max(ring, page) + 0.05) / (Math.min(ring, page) + 0.05);
      });
      expect(ratio).toBeGreaterThanOrEqual(3);
    });
  }
});
