import { describe, expect, it } from "vitest";
import type { Instrument } from "../../functions/engine/definition.ts";
import { applyCalculations, calculationDrift, prepareForm } from "../../functions/engine/validate-form.ts";

/** The engine's rule for stored calculations (`StoredForm`): kept unless an edit reaches them or they are asked for. */

const instrument: Instrument = {
  $id: "dosing",
  title: "Dosing",
  type: "object",
  additionalProperties: false,
  properties: {
    dose: { type: "number" },
    note: { type: "string" },
    per_kg: {
      type: "number",
      readOnly: true,
      "x-calc": { round: [{ "/": [{ var: "dose" }, { var: "$latest.vitals.weight" }] }, 2] },
    },
    per_kg_x10: { type: "number", readOnly: true, "x-calc": { "*": [{ var: "per_kg" }, 10] } },
  },
};

const then = { $event: "v1", $latest: { vitals: { weight: 101 } } };
const now = { $event: "v1", $latest: { vitals: { weight: 99 } } };
const stored = { dose: 100, note: "a", per_kg: 0.99, per_kg_x10: 9.9 };

describe("stored calculations", () => {
  it("computes from current data when nothing is stored yet", () => {
    expect(applyCalculations(instrument, { dose: 100 }, then)).toEqual({
      dose: 100,
      per_kg: 0.99,
      per_kg_x10: 9.9,
    });
  });

  it("keeps stored values when only a field they do not read changes", () => {
    const { data, errors } = prepareForm(instrument, { dose: 100, note: "b" }, "incomplete", now, {
      data: stored,
    });
    expect(errors).toEqual([]);
    expect(data).toEqual({ ...stored, note: "b" });
  });

  it("recomputes a calculation whose input changed, and one that reads it", () => {
    const data = applyCalculations(instrument, { dose: 198, note: "a" }, now, { data: stored });
    expect(data).toMatchObject({ per_kg: 2, per_kg_x10: 20 });
  });

  it("recomputes on request, with what reads it", () => {
    const data = applyCalculations(instrument, { dose: 100, note: "a" }, now, {
      data: stored,
      recalculate: ["per_kg"],
    });
    expect(data).toMatchObject({ per_kg: 1.01, per_kg_x10: 10.1 });
  });

  it("recomputes a calculation that computes a variable's name whenever any field changes", () => {
    const dynamic: Instrument = {
      ...instrument,
      properties: {
        dose: { type: "number" },
        twice: { type: "number", readOnly: true, "x-calc": { "*": [{ var: { cat: ["do", "se"] } }, 2] } },
      },
    };
    expect(applyCalculations(dynamic, { dose: 3 }, now, { data: { dose: 2, twice: 4 } })).toEqual({
      dose: 3,
      twice: 6,
    });
  });

  it("refuses a request to recalculate a field that is not calculated", () => {
    const { errors } = prepareForm(instrument, { dose: 100 }, "incomplete", now, {
      data: stored,
      recalculate: ["dose", "constructor"],
    });
    expect(errors.map((e) => [e.pointer, e.code])).toEqual([
      ["/dose", "not-calculated"],
      ["/constructor", "not-calculated"],
    ]);
  });

  it("lists each stored calculation current data would change, stored → now", () => {
    expect(calculationDrift(instrument, stored, then)).toEqual([]);
    expect(calculationDrift(instrument, stored, now)).toEqual([
      { field: "per_kg", stored: 0.99, now: 1.01 },
      { field: "per_kg_x10", stored: 9.9, now: 10.1 },
    ]);
  });
});
