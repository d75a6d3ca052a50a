import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { initialValues, utcClock } from "../../functions/engine/action-tags.ts";
import { PLAIN_CONTEXT } from "../../functions/engine/check-definition/logic-references.ts";
import type { FieldSchema, Instrument, Logic } from "../../functions/engine/definition.ts";
import { LOGIC_OPERATORS } from "../../functions/engine/logic.ts";
import { ENGINE_ACTION_TAGS } from "../../functions/engine/redcap/action-tags.ts";
import { withStudyVariant } from "../integration/harness.ts";
import { describeInBrowser, type E2E, formUrl, STUDY, startE2E } from "./browser.ts";

/**
 * Issue 14's acceptance: every logic operation and every action tag behaves
 * the same in the browser and on the server. One form carries one calculated
 * text per case; Chromium (in another time zone and locale than the server)
 * computes them live with the page's own bundled engine while a person types
 * the inputs, the page saves, and the server's stored values must be what the
 * page showed. The tables must name every registered operation and tag.
 */

const num = { var: "p_num" };
const text = { var: "p_text" };
const cb = { var: "p_cb" };

/** Per operation, logic using it (over the inputs typed below: p_text, p_num, p_cb; p_empty stays empty). */
const OPERATION_CASES: Record<string, Logic> = {
  "==": { "==": [num, "12"] },
  "===": { "===": [num, 12] },
  "!=": { "!=": [text, "x"] },
  "!==": { "!==": [num, "12"] },
  ">": { ">": [num, 11.5] },
  ">=": { ">=": [num, 12] },
  "<": { "<": [1, num, 20] },
  "<=": { "<=": [num, 11] },
  "!!": { "!!": [{ var: "p_empty" }] },
  "!": { "!": [num] },
  "%": { "%": [num, 5] },
  log: { log: [text] },
  in: { in: ["World", text] },
  cat: { cat: [text, "|", num] },
  substr: { substr: [text, 2, -3] },
  "+": { "+": [num, "0.1", 0.2] },
  "*": { "*": [num, 1.1] },
  "-": { "-": [num, 0.3] },
  "/": { "/": [num, 7] },
  min: { min: [num, 3, -2.5] },
  max: { max: [num, 3, 99] },
  merge: { merge: [cb, [7]] },
  var: { var: ["p_empty", "fallback"] },
  missing: { missing: ["p_text", "p_empty"] },
  missing_some: { missing_some: [1, ["p_empty", "p_num"]] },
  if: { if: [{ ">": [num, 20] }, "big", { ">": [num, 10] }, "middle", "small"] },
  "?:": { "?:": [{ var: "p_empty" }, "yes", "no"] },
  and: { and: [num, text] },
  or: { or: [{ var: "p_empty" }, 0, text] },
  filter: { filter: [cb, { ">": [{ var: "" }, 1] }] },
  map: { map: [cb, { "*": [{ var: "" }, 10] }] },
  reduce: { reduce: [cb, { "+": [{ var: "current" }, { var: "accumulator" }] }, 0] },
  all: { all: [cb, { ">": [{ var: "" }, 0] }] },
  none: { none: [cb, { "==": [{ var: "" }, 2] }] },
  some: { some: [cb, { "==": [{ var: "" }, 3] }] },
  round: { round: [{ "/": [num, 7] }, 2] },
  datediff: { datediff: ["2026-03-28T23:30", "2026-03-29T03:30", "d"] },
  today: { datediff: ["2026-01-01", { today: [] }, "d"] },
  now: { now: [] },
  sqrt: { sqrt: [num] },
  abs: { abs: [{ "-": [0, num] }] },
  rounddown: { rounddown: [{ "/": [num, 7] }, 1] },
  roundup: { roundup: [{ "/": [num, 7] }, 1] },
  sum: { sum: [num, { var: "p_empty" }, 1.5] },
  mean: { mean: [num, 3] },
  year: { year: ["2026-12-31T23:30"] },
  month: { month: ["2026-12-31T23:30"] },
  day: { day: ["2026-12-31T23:30"] },
  left: { left: [text, 4] },
  right: { right: [text, 3] },
  mid: { mid: [text, 2, 3] },
  length: { length: [text] },
  find: { find: ["WORLD", text] },
  contains: { contains: [text, "world"] },
  starts_with: { starts_with: [text, "hel"] },
  ends_with: { ends_with: [text, "d"] },
  concat: { concat: [text, num, { var: "p_empty" }] },
  upper: { upper: [text] },
  lower: { lower: [text] },
  trim: { trim: [{ cat: ["  ", text, "  "] }] },
  isempty: { isempty: [{ var: "p_empty" }] },
  date_add: { date_add: ["2026-03-28T23:30", 150, "m"] },
  checked: {
    checked: [
      cb,
      [
        [1, "Fever"],
        [2, "Cough"],
        [3, "Rash"],
      ],
      false,
    ],
  },
};

/** What logic sees beside the form (validate-form.ts LogicContext): built by the page's route and by the save alike. */
const CONTEXT_VARIABLES = PLAIN_CONTEXT;

/** Per REDCap action tag, a field of the form carrying its annotation. */
const TAG_FIELDS: Record<keyof typeof ENGINE_ACTION_TAGS, [string, FieldSchema]> = {
  "@HIDDEN": ["t_hidden", { type: "string", title: "Hidden", "x-hidden": true, "x-default": "kept" }],
  "@HIDDEN-FORM": ["t_hidden", { type: "string", title: "Hidden" }],
  "@READONLY": [
    "t_readonly",
    { type: "string", title: "Read-only", "x-readonly": true, "x-default": "fixed" },
  ],
  "@READONLY-FORM": ["t_readonly", { type: "string", title: "Read-only" }],
  "@DEFAULT": ["t_default", { type: "integer", title: "Default", "x-default": 3 }],
  "@TODAY": ["t_today", { type: "string", format: "date", title: "Today", "x-default": "today" }],
  "@NOW": ["t_now", { type: "string", format: "time", title: "Now", "x-default": "now" }],
  "@SETVALUE": ["t_set", { type: "string", title: "Set", "x-set-value": "set" }],
  "@NONEOFTHEABOVE": [
    "t_none",
    {
      type: "array",
      title: "Symptoms",
      uniqueItems: true,
      "x-widget": "checkbox",
      items: {
        type: "string",
        oneOf: [
          { const: "fever", title: "Fever" },
          { const: "none", title: "None of these" },
        ],
      },
      "x-none-of-the-above": ["none"],
    },
  ],
  "@CALCTEXT": [
    "t_calctext",
    {
      type: "string",
      title: "Summary",
      readOnly: true,
      "x-calc": { concat: ["n=", num, " ", { checked: [cb, [[1, "Fever"]]] }] },
    },
  ],
  "@CALCDATE": [
    "t_calcdate",
    {
      type: "string",
      format: "date",
      title: "Next",
      readOnly: true,
      "x-calc": { date_add: [{ today: [] }, 1, "M"] },
    },
  ],
};

const caseField = (op: string) => `c_${Object.keys(OPERATION_CASES).indexOf(op)}`;

function parityForms(): { dir: string; instrument: Instrument } {
  let instrument = {} as Instrument;
  const dir = withStudyVariant((edit) =>
    edit("vital_signs", (properties, vitalSigns) => {
      instrument = vitalSigns as unknown as Instrument;
      addCases((name, schema) => {
        properties[name] = { ...properties[name], ...schema };
      });
    }),
  );
  return { dir, instrument };
}

/** One field per input, per operation case, per context variable and per action tag. */
function addCases(add: (name: string, schema: FieldSchema) => void) {
  add("p_text", { type: "string", title: "Text" });
  add("p_num", { type: "integer", title: "Number" });
  add("p_empty", { type: "string", title: "Left empty" });
  add("p_cb", {
    type: "array",
    title: "Ticks",
    uniqueItems: true,
    "x-widget": "checkbox",
    items: {
      type: "integer",
      oneOf: [
        { const: 1, title: "Fever" },
        { const: 2, title: "Cough" },
        { const: 3, title: "Rash" },
      ],
    },
  });
  for (const [op, logic] of Object.entries(OPERATION_CASES))
    add(caseField(op), { type: "string", title: `Case ${op}`, readOnly: true, "x-calc": logic });
  CONTEXT_VARIABLES.forEach((name, i) => {
    add(`ctx_${i}`, { type: "string", title: `Context ${name}`, readOnly: true, "x-calc": { var: name } });
  });
  for (const [name, schema] of Object.values(TAG_FIELDS)) add(name, schema);
}

let e2e: E2E;
let page: Page;
let instrument: Instrument;

describeInBrowser("logic and action tags: the browser and the server agree", () => {
  beforeAll(async () => {
    const forms = parityForms();
    instrument = forms.instrument;
    e2e = await startE2E({ formsDir: forms.dir });
    // Another zone and locale than the server's (UTC): dates must not move with the browser's clock.
    ({ page } = await e2e.signedInPage("site-01", { timezoneId: "Pacific/Auckland", locale: "de-DE" }));
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it("has a case for every registered operation and action tag", () => {
    expect(Object.keys(OPERATION_CASES).sort()).toEqual([...LOGIC_OPERATORS].sort());
    expect(Object.keys(TAG_FIELDS).sort()).toEqual(Object.keys(ENGINE_ACTION_TAGS).sort());
  });

  it("computes every case in Chromium as the server stores it, and acts on every tag as the server does", async () => {
    const subject = await e2e.enrol();
    const opened = utcClock();
    await page.goto(formUrl(subject, "screening", "vital_signs"));

    // What the page fills in by itself (the protocol's defaults), and hides.
    const value = (name: string) => page.locator(`[name=${name}]`).first().inputValue();
    const expected = initialValues(instrument, null, opened);
    expect(await page.locator("[data-field=t_hidden]").count()).toBe(1);
    expect(await page.locator("[data-field=t_hidden]").isVisible()).toBe(false);
    expect(await value("t_hidden")).toBe(expected.t_hidden);
    expect(await page.locator("#f-t_readonly").evaluate((el) => el.tagName)).toBe("OUTPUT");
    expect(await value("t_readonly")).toBe(expected.t_readonly);
    expect(await value("t_default")).toBe(String(expected.t_default));
    expect(await value("t_today")).toBe(expected.t_today);
    expect(await value("t_set")).toBe(expected.t_set);
    const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
    expect(
      Math.abs(minutes(await value("t_now")) - minutes(String(expected.t_now))) % 1439,
    ).toBeLessThanOrEqual(1);

    // A person types the inputs; the page computes every case as they go.
    await page.locator("#f-p_text").click();
    await page.keyboard.type("Hello World", { delay: 20 });
    await page.locator("#f-p_num").click();
    await page.keyboard.type("12", { delay: 20 });
    await page.locator("input[name=p_cb][value='1']").check();
    await page.locator("input[name=p_cb][value='3']").check();
    const none = (code: string) => page.locator(`input[name=t_none][value=${code}]`);
    await none("fever").check();
    await none("none").check();
    expect(await none("fever").isChecked()).toBe(false);
    const computed = Object.fromEntries(
      await page
        .locator("output[data-calc]")
        .evaluateAll((els) =>
          els.map((el) => [(el as HTMLOutputElement).dataset.calc, (el as HTMLOutputElement).value]),
        ),
    ) as Record<string, string>;

    await page.locator("button[name=_status][value=incomplete]").click();
    await page.waitForURL(/saved=1/);
    const saved = await e2e.api(
      "site-01",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs`,
    );
    const stored = saved.body.data as Record<string, unknown>;
    const differences = Object.keys(OPERATION_CASES)
      .map((op) => ({
        op,
        browser: computed[caseField(op)] ?? "",
        server: String(stored[caseField(op)] ?? ""),
      }))
      .filter(
        (c) =>
          c.browser !== c.server &&
          !(c.op === "now" && Math.abs(Date.parse(c.browser) - Date.parse(c.server)) <= 60_000),
      );
    expect(differences).toEqual([]);
    const context = CONTEXT_VARIABLES.map((name, i) => [name, computed[`ctx_${i}`], stored[`ctx_${i}`]]);
    expect(context).toEqual([
      ["$event", "screening", "screening"],
      ["$arm", "rrms", "rrms"],
      ["$instance", "1", "1"],
      ["$previousEvent", "", undefined],
      ["$nextEvent", "iv_1", "iv_1"],
      ["$firstEvent", "screening", "screening"],
      ["$lastEvent", "end_of_study", "end_of_study"],
    ]);
    // The cases computed something: an empty answer on both sides would prove nothing.
    expect(computed[caseField("date_add")]).toBe("2026-03-29T02:00");
    expect(computed[caseField("checked")]).toBe("Cough");
    for (const field of ["t_calctext", "t_calcdate"]) expect(computed[field]).toBe(stored[field]);
    expect(stored.t_calctext).toBe("n=12 Fever");
    expect(stored).toMatchObject({
      t_hidden: "kept",
      t_readonly: "fixed",
      t_default: 3,
      t_today: expected.t_today,
      t_set: "set",
      t_none: ["none"],
    });

    // What the page unticks, the server refuses.
    const refused = await e2e.api(
      "site-01",
      "PUT",
      `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs`,
      { data: { ...stored, t_none: ["fever", "none"] }, status: "incomplete", rev: saved.body.rev },
    );
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toContain("/t_none");
  });
});
