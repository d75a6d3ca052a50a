import { describe, expect, it } from "vitest";
import type { Instrument } from "../../functions/engine/definition.ts";
import { hiddenFields, normaliseData, prepareForm } from "../../functions/engine/validate-form.ts";

const instrument: Instrument = {
  $id: "sample",
  title: "Sample",
  type: "object",
  additionalProperties: false,
  properties: {
    visit_date: { type: "string", format: "date", title: "Date" },
    kind: {
      type: "string",
      title: "Kind",
      oneOf: [
        { const: "a", title: "A" },
        { const: "b", title: "B" },
      ],
    },
    b_only: { type: "integer", minimum: 1, maximum: 5, "x-visible-if": { "==": [{ var: "kind" }, "b"] } },
    b_detail: { type: "string", "x-visible-if": { "==": [{ var: "b_only" }, 5] } },
    weight: { type: "number", minimum: 20, maximum: 300, "x-unit": "kg" },
    dose: { type: "number", exclusiveMinimum: 0 },
    dose_per_kg: {
      type: "number",
      readOnly: true,
      "x-calc": {
        round: [{ "/": [{ var: "dose" }, { or: [{ var: "weight" }, { var: "$latest.vitals.weight" }] }] }, 2],
      },
    },
    start: { type: "string", format: "date" },
    end: { type: "string", format: "date" },
    time: { type: "string", format: "time" },
    tags: {
      type: "array",
      uniqueItems: true,
      items: {
        type: "string",
        oneOf: [
          { const: "x", title: "X" },
          { const: "y", title: "Y" },
        ],
      },
    },
  },
  required: ["visit_date", "kind", "b_only"],
  "x-rules": [
    {
      id: "end_after_start",
      field: "end",
      message: "must not be before the start",
      logic: { ">=": [{ datediff: [{ var: "start" }, { var: "end" }] }, 0] },
    },
  ],
};
const ctx = { $event: "e1" };

describe("preparing a submission", () => {
  it("treats null, empty strings and empty lists as unanswered", () => {
    expect(normaliseData({ a: null, b: "", c: [], d: 0, e: false })).toEqual({ d: 0, e: false });
  });

  it("computes calculations and ignores a value sent for them", () => {
    const r = prepareForm(instrument, { dose: 100, weight: 80, dose_per_kg: 7 }, "incomplete", ctx);
    expect(r.errors).toEqual([]);
    expect(r.data.dose_per_kg).toBe(1.25);
  });

  it("reads other forms through $latest when the form itself lacks the value", () => {
    const r = prepareForm(instrument, { dose: 90 }, "incomplete", {
      ...ctx,
      $latest: { vitals: { weight: 60 } },
    });
    expect(r.data.dose_per_kg).toBe(1.5);
    expect(prepareForm(instrument, { dose: 90 }, "incomplete", ctx).data.dose_per_kg).toBeUndefined();
  });

  it("hides a field whose condition is false, and anything that depends on a hidden field", () => {
    expect([...hiddenFields(instrument, { kind: "a", b_only: 5 }, ctx)]).toEqual(["b_only", "b_detail"]);
    expect([...hiddenFields(instrument, { kind: "b", b_only: 5 }, ctx)]).toEqual([]);
  });

  it("refuses a value in a hidden field", () => {
    const r = prepareForm(instrument, { kind: "a", b_only: 2 }, "incomplete", ctx);
    expect(r.errors).toEqual([{ pointer: "/b_only", code: "hidden-not-empty", message: expect.any(String) }]);
  });

  it("enforces required fields only to complete, and never for hidden ones", () => {
    expect(prepareForm(instrument, {}, "incomplete", ctx).errors).toEqual([]);
    expect(prepareForm(instrument, {}, "unverified", ctx).errors).toEqual([]);
    const complete = prepareForm(instrument, { kind: "a" }, "complete", ctx);
    expect(complete.errors.map((e) => [e.pointer, e.code])).toEqual([["/visit_date", "required"]]);
    const b = prepareForm(instrument, { kind: "b", visit_date: "2024-01-01" }, "complete", ctx);
    expect(b.errors.map((e) => e.pointer)).toEqual(["/b_only"]);
  });

  it("gives one readable message per field, the most basic problem first", () => {
    const r = prepareForm(
      instrument,
      {
        visit_date: "2024-13-01",
        kind: "c",
        weight: "heavy",
        dose: 0,
        time: "25:00",
        tags: ["x", "x"],
        nope: 1,
      },
      "incomplete",
      ctx,
    );
    expect(r.errors.map((e) => [e.pointer, e.code])).toEqual([
      ["/visit_date", "format"],
      ["/kind", "choice"],
      ["/weight", "type"],
      ["/dose", "range"],
      ["/time", "format"],
      ["/tags", "duplicate"],
      ["/nope", "unknown-field"],
    ]);
    expect(r.errors.find((e) => e.pointer === "/kind")?.message).toBe("must be one of a (A), b (B)");
    expect(prepareForm(instrument, { weight: 10 }, "incomplete", ctx).errors[0]?.message).toBe(
      "must be between 20 and 300 kg",
    );
  });

  it("accepts times with and without seconds but no time zone", () => {
    expect(prepareForm(instrument, { time: "08:30" }, "incomplete", ctx).errors).toEqual([]);
    expect(prepareForm(instrument, { time: "08:30:15" }, "incomplete", ctx).errors).toEqual([]);
    expect(prepareForm(instrument, { time: "08:30Z" }, "incomplete", ctx).errors).toHaveLength(1);
  });

  it("applies a cross-field rule once both its fields are filled and valid", () => {
    expect(prepareForm(instrument, { end: "2024-01-01" }, "incomplete", ctx).errors).toEqual([]);
    const r = prepareForm(instrument, { start: "2024-02-01", end: "2024-01-01" }, "incomplete", ctx);
    expect(r.errors).toEqual([
      { pointer: "/end", code: "rule:end_after_start", message: "must not be before the start" },
    ]);
    expect(
      prepareForm(instrument, { start: "2024-02-01", end: "2024-02-01" }, "incomplete", ctx).errors,
    ).toEqual([]);
  });
});

describe("range messages", () => {
  it("say whether a bound is inclusive", () => {
    const r = prepareForm(instrument, { dose: 0 }, "incomplete", ctx);
    expect(r.errors[0]?.message).toBe("must be more than 0");
  });
});
