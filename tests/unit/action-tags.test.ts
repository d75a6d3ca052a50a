import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { readFormsDirectory } from "../../functions/definition-files.ts";
import {
  exclusiveTicks,
  initialValues,
  noneOfTheAboveProblems,
  utcClock,
} from "../../functions/engine/action-tags.ts";
import { checkDefinition, type DefinitionFiles } from "../../functions/engine/check-definition.ts";
import type { FieldSchema, Instrument } from "../../functions/engine/definition.ts";
import { exportDictionary, importDictionary } from "../../functions/engine/redcap/dictionary.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const clock = { today: "2026-03-04", now: "2026-03-04T09:15:30Z" };

const instrument = (properties: Record<string, FieldSchema>): Instrument => ({
  $id: "tags",
  title: "Tags",
  type: "object",
  additionalProperties: false,
  properties,
});

const symptoms: FieldSchema = {
  type: "array",
  title: "Symptoms",
  uniqueItems: true,
  items: {
    type: "integer",
    oneOf: [
      { const: 1, title: "Fever" },
      { const: 2, title: "Cough" },
      { const: 99, title: "None of the above" },
    ],
  },
  "x-none-of-the-above": [99],
};

describe("x-default and x-set-value (@DEFAULT, @TODAY, @NOW, @SETVALUE)", () => {
  const form = instrument({
    visit: { type: "string", title: "Visit", format: "date", "x-default": "today" },
    at: { type: "string", title: "At", format: "date-time", "x-default": "now" },
    time: { type: "string", title: "Time", format: "time", "x-default": "now" },
    site: { type: "string", title: "Site", "x-default": "Oxford" },
    count: { type: "integer", title: "Count", "x-set-value": 3 },
    bmi: { type: "number", title: "BMI", readOnly: true, "x-calc": 1, "x-default": 2 } as FieldSchema,
  });

  it("fills a new instance, 'today' and 'now' by the field's format; never a calculation", () => {
    expect(initialValues(form, null, clock)).toEqual({
      visit: "2026-03-04",
      at: "2026-03-04T09:15:30Z",
      time: "09:15",
      site: "Oxford",
      count: 3,
    });
  });

  it("never writes over a saved value; only x-set-value fills a saved instance's empty field", () => {
    expect(initialValues(form, { site: "Leeds", count: 5 }, clock)).toEqual({});
    expect(initialValues(form, { site: "Leeds" }, clock)).toEqual({ count: 3 });
  });

  it("reads the clock in UTC on the server", () => {
    expect(utcClock(new Date("2026-03-04T23:59:59.900Z"))).toEqual({
      today: "2026-03-04",
      now: "2026-03-04T23:59:59Z",
    });
  });
});

describe("x-none-of-the-above (@NONEOFTHEABOVE)", () => {
  const form = instrument({ symptoms });

  it("refuses the code with any other box, at the field, and accepts it alone", () => {
    const refused = prepareForm(form, { symptoms: [1, 99] }, "incomplete", { $event: "e" });
    expect(refused.errors).toEqual([
      {
        pointer: "/symptoms",
        code: "none-of-the-above",
        message: '"None of the above" cannot be ticked with any other choice',
      },
    ]);
    expect(prepareForm(form, { symptoms: [99] }, "incomplete", { $event: "e" }).errors).toEqual([]);
    expect(prepareForm(form, { symptoms: [1, 2] }, "incomplete", { $event: "e" }).errors).toEqual([]);
    expect(noneOfTheAboveProblems(form, {})).toEqual([]);
  });

  it("unticks the others when it is ticked, and itself when another is (what the page does)", () => {
    expect(exclusiveTicks(symptoms, [1, 2, 99], 99)).toEqual([99]);
    expect(exclusiveTicks(symptoms, [99, 2], 2)).toEqual([2]);
    expect(exclusiveTicks(symptoms, [1], 2)).toEqual([1]);
  });
});

describe("a calculated text field (what @CALCTEXT will map onto)", () => {
  it("holds the result as text, whatever the logic's type", () => {
    const form = instrument({
      n: { type: "integer", title: "N" },
      label: { type: "string", title: "Label", readOnly: true, "x-calc": { "+": [{ var: "n" }, 1] } },
    });
    const r = prepareForm(form, { n: 2 }, "incomplete", { $event: "e" });
    expect(r.errors).toEqual([]);
    expect(r.data.label).toBe("3");
  });
});

describe("forms:check", () => {
  let shipped: DefinitionFiles;
  beforeAll(async () => {
    const read = await readFormsDirectory(path.join(ROOT, "forms"));
    if (!read.files) throw new Error("forms/ could not be read");
    shipped = read.files;
  });
  const errorsWith = (change: (p: Record<string, Record<string, unknown>>) => void) => {
    const files = structuredClone(shipped);
    const file = files.instruments.find((f) => f.path.endsWith("infusion.json"));
    if (!file) throw new Error("no infusion.json in forms/");
    change((file.json as { properties: Record<string, Record<string, unknown>> }).properties);
    return checkDefinition(files).errors.map((e) => `${e.pointer}: ${e.message}`);
  };

  it("accepts the annotations where they fit", () => {
    expect(
      errorsWith((p) => {
        Object.assign(p.premedication ?? {}, { "x-none-of-the-above": ["none"], "x-default": ["none"] });
        Object.assign(p.infusion_date ?? {}, { "x-default": "today", "x-hidden": true });
        Object.assign(p.route ?? {}, { "x-set-value": "iv", "x-readonly": true });
      }),
    ).toEqual([]);
  });

  it("refuses an annotation of the wrong kind with the meta-schema's pointer", () => {
    expect(errorsWith((p) => Object.assign(p.route ?? {}, { "x-hidden": "yes" }))).toEqual([
      '/properties/route/x-hidden: "x-hidden" must be of type boolean',
    ]);
  });

  it("points at a default or an exclusive code that is not a value of the field", () => {
    expect(
      errorsWith((p) => {
        Object.assign(p.premedication ?? {}, { "x-none-of-the-above": ["nothing"] });
        Object.assign(p.route ?? {}, { "x-default": "oral-ish" });
        Object.assign(p.dose_cells ?? {}, { "x-default": "today" });
        Object.assign(p.infusion_date ?? {}, { "x-default": "04/03/2026" });
        Object.assign(p.dose_per_kg ?? {}, { "x-default": 1 });
      }),
    ).toEqual(
      expect.arrayContaining([
        '/properties/premedication/x-none-of-the-above/0: "nothing" is not one of the field\'s choice codes',
        '/properties/dose_cells/x-default: "today" needs a text, date or time field',
        '/properties/infusion_date/x-default: a date field opens with "today", "now" or a date YYYY-MM-DD',
        "/properties/dose_per_kg/x-default: a calculated field's value is computed: it has no default",
      ]),
    );
  });
});

describe("REDCap dictionary ⇄ annotations", () => {
  const header =
    'Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, Calculations, OR Slider Labels",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation';
  const csv = [
    header,
    "record_id,f,,text,ID,,,,,,,,,,,,,",
    'visit,f,,text,Visit,,,date_ymd,,,,,,,,,,"@TODAY @HIDDEN-SURVEY"',
    'secret,f,,text,Secret,,,,,,,,,,,,,"@HIDDEN @READONLY-FORM see protocol"',
    'symptoms,f,,checkbox,Symptoms,"1, Fever | 2, Cough | 99, None",,,,,,,,,,,,"@NONEOFTHEABOVE=99 @DEFAULT=\'1,2\'"',
    "weight,f,,text,Weight,,,number_1dp_comma_decimal,,,,,,,,,,\"@SETVALUE='70,5'\"",
    'piped,f,,text,Piped,,,,,,,,,,,,,"@DEFAULT=""[visit]"" @WORDLIMIT=5"',
  ].join("\n");

  it("maps the tags the engine acts on and keeps the rest in x-annotation, reported", () => {
    const r = importDictionary(csv);
    const f = r.instruments.f?.properties ?? {};
    expect(f.visit).toMatchObject({ "x-default": "today", "x-annotation": "@HIDDEN-SURVEY" });
    expect(f.secret).toMatchObject({ "x-hidden": true, "x-readonly": true, "x-annotation": "see protocol" });
    expect(f.symptoms).toMatchObject({ "x-none-of-the-above": [99], "x-default": [1, 2] });
    expect(f.symptoms?.["x-annotation"]).toBeUndefined();
    expect(f.weight).toMatchObject({ "x-set-value": 70.5 });
    expect(f.piped).toMatchObject({ "x-annotation": '@DEFAULT="[visit]" @WORDLIMIT=5' });
    expect(f.piped?.["x-default"]).toBeUndefined();
    const messages = r.report.map((i) => `${i.field}: ${i.message}`);
    expect(messages).toContain(
      "visit: @HIDDEN-SURVEY does not apply: the engine has no surveys, app or PDF forms",
    );
    expect(messages).toContain(
      "piped: @DEFAULT='[visit]' pipes another value: kept in x-annotation, not applied",
    );
    expect(messages).toContain(
      "piped: action tag @WORDLIMIT kept in x-annotation; the engine does not act on it",
    );
  });

  it("writes them back as REDCap tags, and importing the export gives the same fields", () => {
    const first = importDictionary(csv);
    const text = exportDictionary(first.instruments, { recordIdForm: "f" });
    expect(text).toContain("@NONEOFTHEABOVE='99'");
    expect(text).toContain("@SETVALUE='70,5'");
    expect(text).toContain("@TODAY @HIDDEN-SURVEY");
    expect(text).not.toContain("@X-SCHEMA");
    expect(importDictionary(text).instruments).toEqual(first.instruments);
  });

  const computed = [
    header,
    "record_id,f,,text,ID,,,,,,,,,,,,,",
    "given,f,,text,Given,,,date_ymd,,,,,,,,,,",
    'symptoms,f,,checkbox,Symptoms,"1, Fever | 2, Cough | 99, None",,,,,,,,,,,,',
    "summary,f,,text,Summary,,,,,,,,,,,,,\"@CALCTEXT(concat([symptoms:checked], ' at ', [event-name], ' #', [current-instance])) see SAP\"",
    "others,f,,text,Others,,,,,,,,,,,,,\"@CALCTEXT(if([previous-event-name] = '', [symptoms:unchecked], [next-event-name]))\"",
    "next_dose,f,,text,Next dose,,,date_ymd,,,,,,,,,,\"@CALCDATE([given], 28, 'd')\"",
    'odd,f,,text,Odd,,,,,,,,,,,,,"@CALCTEXT(exponential([given]))"',
    "misplaced,f,,text,Misplaced,,,,,,,,,,,,,\"@CALCDATE([given], 1, 'd')\"",
  ].join("\n");

  it("reads @CALCTEXT and @CALCDATE as computed text and date fields, checkbox and event smart variables as logic", () => {
    const r = importDictionary(computed);
    const f = r.instruments.f?.properties ?? {};
    const choices = [
      [1, "Fever"],
      [2, "Cough"],
      [99, "None"],
    ];
    expect(f.summary).toMatchObject({
      type: "string",
      readOnly: true,
      "x-annotation": "see SAP",
      "x-calc": {
        concat: [
          { checked: [{ var: "symptoms" }, choices] },
          " at ",
          { var: "$event" },
          " #",
          { var: "$instance" },
        ],
      },
    });
    expect(JSON.stringify(f.others?.["x-calc"])).toContain('{"checked":[{"var":"symptoms"},');
    expect(JSON.stringify(f.others?.["x-calc"])).toContain('"$previousEvent"');
    expect(f.next_dose).toMatchObject({
      format: "date",
      readOnly: true,
      "x-calc": { date_add: [{ var: "given" }, 28, "d"] },
    });
    // what cannot be translated is kept read-only with its REDCap text, and reported
    expect(f.odd).toMatchObject({ readOnly: true, "x-calc-redcap": "exponential([given])" });
    // @CALCDATE on a field that holds no date is not a computed date: kept in the annotation
    expect(f.misplaced?.["x-annotation"]).toBe("@CALCDATE([given], 1, 'd')");
    expect(f.misplaced?.readOnly).toBeUndefined();
    const messages = r.report.map((i) => `${i.field}: ${i.column}: ${i.message}`);
    expect(messages.some((m) => m.startsWith("odd: Field Annotation: calculation not translated"))).toBe(
      true,
    );
    expect(r.report.filter((i) => i.message.startsWith("engine check:"))).toEqual([]);
  });

  it("writes them back as @CALCTEXT / @CALCDATE text fields, and importing the export gives the same fields", () => {
    const first = importDictionary(computed);
    const text = exportDictionary(first.instruments, { recordIdForm: "f" });
    expect(text).toContain("@CALCDATE([given], 28, 'd')");
    expect(text).toContain("@CALCTEXT(exponential([given]))");
    expect(text).toContain("[symptoms:checked]");
    expect(text).toContain("[current-instance]");
    expect(text).toContain("[previous-event-name]");
    expect(text).not.toContain("@X-SCHEMA");
    expect(text).not.toMatch(/,calc,/);
    expect(importDictionary(text).instruments).toEqual(first.instruments);
  });

  it("maps the cypress fixture's @DEFAULT, @TODAY and @NOW", () => {
    const text = readFileSync(
      path.join(ROOT, "tests/fixtures/redcap/redcap-cypress-project1/dictionary.csv"),
      "utf8",
    );
    const f = importDictionary(text).instruments.data_types?.properties ?? {};
    expect(f.date_dmy?.["x-default"]).toBe("today");
    expect(f.time_hhmm?.["x-default"]).toBe("now");
    expect(f.integer?.["x-default"]).toBe(1);
    expect(f.number_1_comma?.["x-default"]).toBe(2);
    expect(f.datetime_ymd_hm?.["x-default"]).toBe("2023-08-01 01:02");
  });
});
