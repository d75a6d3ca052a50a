import { describe, expect, it } from "vitest";
import { checkDefinition } from "../../functions/engine/check-definition.ts";
import type { FieldSchema, Instrument, StudyFile } from "../../functions/engine/definition.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";

/**
 * The protocol format additions REDCap needs: display-only fields
 * (`"type": "null"`, `"x-widget": "descriptive"`), sliders, true/false and
 * autocomplete widgets, matrix groups, verbatim annotations and REDCap
 * validation names.
 */

const study: StudyFile = {
  id: "format",
  title: "Format",
  arms: [{ id: "a", label: "A" }],
  sites: [{ id: "s", name: "S", code: "01" }],
  subjectIdPattern: ".+",
  dayOne: { event: "v", form: "f", field: "visit_date" },
  events: [{ id: "v", label: "V", day: 1, forms: ["f"] }],
  logs: [],
};

function instrument(properties: Record<string, FieldSchema>, required?: string[]): Instrument {
  return {
    $id: "f",
    title: "F",
    type: "object",
    additionalProperties: false,
    properties: { visit_date: { type: "string", format: "date", title: "Visit date" }, ...properties },
    ...(required ? { required } : {}),
  };
}

const check = (i: Instrument) =>
  checkDefinition({
    study: { path: "study.json", json: study },
    instruments: [{ path: "instruments/f.json", json: i }],
  }).errors.map((e) => `${e.pointer}: ${e.message}`);

const everything = instrument({
  intro: {
    type: "null",
    title: "<b>Read this first</b>",
    "x-widget": "descriptive",
    "x-annotation": "@HIDDEN-SURVEY",
  },
  mood: {
    type: "integer",
    title: "Mood",
    minimum: 0,
    maximum: 100,
    "x-widget": "slider",
    "x-slider": { labels: ["Sad", "", "Happy"], showNumber: true },
  },
  agree: { type: "boolean", title: "Agree?", "x-widget": "truefalse" },
  drug: {
    type: "integer",
    title: "Drug",
    oneOf: [
      { const: 1, title: "Aspirin" },
      { const: 2, title: "Ibuprofen" },
    ],
    "x-widget": "autocomplete",
  },
  q1: {
    type: "integer",
    title: "Q1",
    oneOf: [
      { const: 0, title: "No" },
      { const: 1, title: "Yes" },
    ],
    "x-widget": "radio",
    "x-matrix": "symptoms",
  },
  born: {
    type: "string",
    format: "date",
    title: "Born",
    "x-text-validation": "date_dmy",
    "x-text-validation-max": "today",
  },
});

describe("the format additions for REDCap", () => {
  it("check clean and compile in the engine's strict validator", () => {
    expect(check(everything)).toEqual([]);
    const prepared = prepareForm(
      everything,
      { visit_date: "2024-01-02", mood: 40, agree: true, drug: 2, q1: 1 },
      "complete",
      {
        $event: "v",
      },
    );
    expect(prepared.errors).toEqual([]);
  });

  it("a display-only field holds no value", () => {
    const prepared = prepareForm(everything, { intro: "typed" }, "incomplete", { $event: "v" });
    expect(prepared.errors).toContainEqual(expect.objectContaining({ pointer: "/intro", code: "type" }));
  });

  it("refuses a display-only field that is required, typed wrongly or given value keywords", () => {
    expect(
      check(instrument({ note: { type: "null", title: "Note", "x-widget": "descriptive" } }, ["note"])),
    ).toEqual(['/required/0: "note" is display-only: it holds no value and cannot be required']);
    expect(check(instrument({ note: { type: "null", title: "Note" } }))).toEqual([
      '/properties/note/type: "type": "null" is only for display-only fields ("x-widget": "descriptive")',
    ]);
    expect(
      check(
        instrument({
          note: { type: "null", title: "Note", "x-widget": "descriptive", "x-identifier": true },
        }),
      ),
    ).toEqual([
      '/properties/note/x-identifier: "x-identifier" does not apply to a display-only field: it holds no value',
    ]);
    expect(check(instrument({ note: { type: "string", title: "Note", "x-widget": "descriptive" } }))).toEqual(
      ['/properties/note/x-widget: widget "descriptive" does not fit a field of type string'],
    );
  });

  it("refuses slider options without a slider, a matrix group without choices, and an unknown key", () => {
    expect(
      check(instrument({ n: { type: "integer", title: "N", "x-slider": { showNumber: true } } })),
    ).toEqual(['/properties/n/x-slider: "x-slider" needs "x-widget": "slider"']);
    expect(check(instrument({ t: { type: "string", title: "T", "x-matrix": "grid" } }))).toEqual([
      '/properties/t/x-matrix: a matrix group holds choice fields: "t" has no choices',
    ]);
    expect(
      check(
        instrument({
          n: { type: "integer", title: "N", "x-widget": "slider", "x-slider": { label: ["a"] } as never },
        }),
      ),
    ).toEqual([
      '/properties/n/x-slider/label: unknown property "label" in "x-slider" (did you mean "labels"?)',
    ]);
  });
});
