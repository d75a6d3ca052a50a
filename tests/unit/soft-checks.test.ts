import { describe, expect, it } from "vitest";
import type { Instrument } from "../../functions/engine/definition.ts";
import { decideRevision } from "../../functions/engine/revision.ts";
import { unconfirmed, warningQueryId } from "../../functions/engine/soft-checks.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";

const instrument: Instrument = {
  $id: "vitals",
  title: "Vitals",
  type: "object",
  additionalProperties: false,
  properties: {
    temp: {
      type: "number",
      minimum: 30,
      maximum: 44,
      "x-soft-minimum": 35,
      "x-soft-maximum": 40,
      "x-unit": "°C",
    },
    sys: { type: "integer" },
    dia: { type: "integer" },
    bmi: { type: "number", readOnly: true, "x-calc": { "+": [{ var: "sys" }, 0] } },
  },
  required: ["temp", "sys"],
  "x-rules": [
    {
      id: "pulse_pressure",
      logic: { ">=": [{ "-": [{ var: "sys" }, { var: "dia" }] }, 20] },
      field: "dia",
      message: "narrow pulse pressure",
      severity: "warning",
    },
    {
      id: "sys_above_dia",
      logic: { ">": [{ var: "sys" }, { var: "dia" }] },
      field: "dia",
      message: "must be below systolic",
    },
  ],
};
const ctx = { $event: "screening" };
const codes = [
  { code: "UNK", label: "Unknown" },
  { code: "NA", label: "Not applicable" },
];

describe("soft checks in the engine", () => {
  it("a value outside the soft range is a warning, not an error; outside the hard range an error only", () => {
    const high = prepareForm(instrument, { temp: 42.3 }, "incomplete", ctx);
    expect(high.errors).toEqual([]);
    expect(high.warnings).toEqual([
      {
        pointer: "/temp",
        rule: "x-soft-maximum",
        message: "42.3 °C is unusually high for temp: expected between 35 °C and 40 °C",
      },
    ]);
    expect(prepareForm(instrument, { temp: 34 }, "incomplete", ctx).warnings[0]?.rule).toBe("x-soft-minimum");
    expect(prepareForm(instrument, { temp: 37 }, "incomplete", ctx).warnings).toEqual([]);
    const hard = prepareForm(instrument, { temp: 45 }, "incomplete", ctx);
    expect(hard.errors.map((e) => e.code)).toEqual(["range"]);
    expect(hard.warnings).toEqual([]);
  });

  it("a warning rule warns; an error rule on the same field wins and the warning is left out", () => {
    const narrow = prepareForm(instrument, { sys: 100, dia: 90 }, "incomplete", ctx);
    expect(narrow.errors).toEqual([]);
    expect(narrow.warnings).toEqual([
      { pointer: "/dia", rule: "pulse_pressure", message: "narrow pulse pressure" },
    ]);
    const both = prepareForm(instrument, { sys: 100, dia: 110 }, "incomplete", ctx);
    expect(both.errors.map((e) => e.code)).toEqual(["rule:sys_above_dia"]);
    expect(both.warnings).toEqual([]);
  });

  it("a warning whose fields keep their stored values is not asked again", () => {
    const stored = { data: { temp: 42.3, sys: 100, dia: 90 } };
    const same = prepareForm(instrument, { temp: 42.3, sys: 100, dia: 90 }, "incomplete", ctx, stored);
    expect(same.warnings).toEqual([]);
    const moved = prepareForm(instrument, { temp: 42.5, sys: 100, dia: 85 }, "incomplete", ctx, stored);
    expect(moved.warnings.map((w) => w.rule)).toEqual(["x-soft-maximum", "pulse_pressure"]);
  });

  it("confirmation by pointer or all at once; query ids come from the revision", () => {
    const warnings = prepareForm(instrument, { temp: 42.3, sys: 100, dia: 90 }, "incomplete", ctx).warnings;
    expect(unconfirmed(warnings, undefined)).toHaveLength(2);
    expect(unconfirmed(warnings, ["/temp"]).map((w) => w.pointer)).toEqual(["/dia"]);
    expect(unconfirmed(warnings, true)).toEqual([]);
    expect(warningQueryId({ event: "screening", form: "vitals", instance: 1, rev: 3 }, 0)).toBe(
      "w-screening-vitals-1-r3-1",
    );
  });
});

describe("missing-data codes in the engine", () => {
  const coded = (missing: Record<string, { code: string; reason: string }>) => ({ missing, declared: codes });

  it("a coded required field lets the form be complete; logic and rules see it empty", () => {
    const done = prepareForm(
      instrument,
      { sys: 120 },
      "complete",
      ctx,
      undefined,
      coded({ temp: { code: "UNK", reason: "broken" } }),
    );
    expect(done.errors).toEqual([]);
    expect(done.data).toEqual({ sys: 120, bmi: 120 });
    expect(done.missing).toEqual({ temp: { code: "UNK", reason: "broken" } });
    const notDone = prepareForm(instrument, { sys: 120 }, "complete", ctx);
    expect(notDone.errors.map((e) => [e.pointer, e.code])).toEqual([["/temp", "required"]]);
  });

  it("refuses an undeclared code, a code without reason, a code with a value, a code on a calculation", () => {
    const codesOf = (missing: Record<string, { code: string; reason: string }>, data = {}) =>
      prepareForm(instrument, data, "incomplete", ctx, undefined, coded(missing)).errors.map((e) => [
        e.pointer,
        e.code,
      ]);
    expect(codesOf({ temp: { code: "LOST", reason: "x" } })).toEqual([["/temp", "missing-code"]]);
    expect(codesOf({ temp: { code: "UNK", reason: "" } })).toEqual([["/temp", "missing-reason"]]);
    expect(codesOf({ temp: { code: "UNK", reason: "x" } }, { temp: 37 })).toEqual([
      ["/temp", "missing-and-value"],
    ]);
    expect(codesOf({ bmi: { code: "NA", reason: "x" } })).toEqual([["/bmi", "not-codable"]]);
    expect(
      prepareForm(instrument, {}, "incomplete", ctx, undefined, {
        missing: { temp: { code: "UNK", reason: "x" } },
        declared: [],
      }).errors[0]?.message,
    ).toMatch(/declares none/);
  });

  it("a code's change is a change of the revision, audited old → new code", () => {
    const current = {
      rev: 1,
      status: "incomplete" as const,
      data: { sys: 120 },
      definitionVersion: 1,
      committedAt: "2024-01-01T00:00:00Z",
      committedBy: "a",
      missing: { temp: { code: "UNK", reason: "broken" } },
    };
    const args = {
      current,
      baseRev: 1,
      status: "incomplete" as const,
      data: { sys: 120 },
      reason: undefined,
      fields: ["temp", "sys"],
    };
    expect(decideRevision({ ...args, missing: { temp: { code: "UNK", reason: "broken" } } }).kind).toBe(
      "unchanged",
    );
    expect(decideRevision({ ...args, missing: { temp: { code: "NA", reason: "n/a" } } })).toMatchObject({
      kind: "commit",
      changes: [{ field: "temp", old: null, new: null, oldCode: "UNK", newCode: "NA" }],
    });
  });
});
