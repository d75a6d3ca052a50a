import { describe, expect, it } from "vitest";
import { checkDefinition } from "../../functions/engine/check-definition.ts";
import type { Instrument, StudyFile } from "../../functions/engine/definition.ts";
import { evaluate, LOGIC_LIMITS, LogicBudgetError, logicVariables } from "../../functions/engine/logic.ts";
import { toJsonLogic } from "../../functions/engine/redcap/to-json-logic.ts";
import { applyCalculations, hiddenFields, prepareForm } from "../../functions/engine/validate-form.ts";

/**
 * JSON Logic is bounded twice: forms:check refuses expressions nested too
 * deep or too large, and the evaluator counts steps and refuses values that
 * grow too big, so even logic that passed the checks cannot burn seconds.
 * No test asserts a time: an unbounded evaluator would hang them instead.
 */

/** `{"+": [{"+": [ … 1 … ]}]}`, `depth` operations deep (built as text: JSON.stringify overflows on it). */
function nested(depth: number): unknown {
  return JSON.parse(`${'{"+":['.repeat(depth)}1${"]}".repeat(depth)}`);
}

/** Doubles an array once per element of an `n`-element list. */
const doubling = (n: number) => ({
  reduce: [
    { merge: Array.from({ length: n }, () => 1) },
    { merge: [{ var: "accumulator" }, { var: "accumulator" }] },
    [1],
  ],
});

function nestedMaps(levels: number): unknown {
  let body: unknown = 1;
  for (let i = 0; i < levels; i++) body = { map: [{ merge: Array.from({ length: 100 }, () => 1) }, body] };
  return body;
}

describe("the evaluator's run-time budget", () => {
  it("refuses an array that doubles without bound", () => {
    expect(() => evaluate(doubling(40), {})).toThrow(LogicBudgetError);
    expect(evaluate(doubling(3), {})).toHaveLength(8);
  });

  it("refuses a string that doubles without bound", () => {
    const logic = {
      reduce: [
        { merge: Array.from({ length: 40 }, () => 1) },
        { cat: [{ var: "accumulator" }, { var: "accumulator" }] },
        "ab",
      ],
    };
    expect(() => evaluate(logic, {})).toThrow(LogicBudgetError);
  });

  it("refuses text functions that build or scan past the budget", () => {
    const doublingConcat = {
      reduce: [
        { merge: Array.from({ length: 40 }, () => 1) },
        { concat: [{ var: "accumulator" }, { var: "accumulator" }] },
        "ab",
      ],
    };
    expect(() => evaluate(doublingConcat, {})).toThrow(LogicBudgetError);
    // 10,000 searches through a 100,000-character value: each read of the value costs steps by its length
    const big = "a".repeat(LOGIC_LIMITS.chars);
    const acc = { var: "accumulator" };
    const scans = {
      reduce: [
        { merge: Array.from({ length: 10_000 }, () => 1) },
        { if: [{ contains: [acc, "b"] }, "", acc] },
        { var: "t" },
      ],
    };
    expect(() => evaluate(scans, { t: big })).toThrow(LogicBudgetError);
    expect(evaluate({ contains: [{ var: "t" }, "b"] }, { t: big })).toBe(false);
  });

  it("counts evaluation steps", () => {
    // A map over 1,000 lists of 1,000 from the data: millions of steps unbounded.
    const list = Array.from({ length: 1000 }, (_, i) => i);
    const logic = {
      map: [{ var: "list" }, { map: [{ var: "" }, { map: [{ var: "" }, { map: [{ var: "" }, 1] }] }] }],
    };
    expect(() => evaluate(logic, { list: list.map(() => list) })).toThrow(LogicBudgetError);
  });

  it("refuses logic nested deeper than the limit with a budget error, not a stack overflow", () => {
    expect(() => evaluate(nested(5000), {})).toThrow(LogicBudgetError);
    expect(evaluate(nested(50), {})).toBe(1);
  });

  it("never reads members of Object.prototype", () => {
    expect(evaluate({ var: "constructor" }, {})).toBeNull();
    expect(evaluate({ var: "$latest.constructor.name" }, { $latest: {} })).toBeNull();
    expect(evaluate({ var: ["toString", "none"] }, {})).toBe("none");
    expect(evaluate({ missing: ["constructor", "a"] }, { a: 1 })).toEqual(["constructor"]);
    expect(evaluate({ var: "a.1" }, { a: ["x", "y"] })).toBe("y");
  });

  it("lists the variables of an expression nested 5,000 deep without overflowing", () => {
    expect(logicVariables({ "+": [nested(5000), { var: "x" }] })).toEqual(["x"]);
  });
});

const blowup: Instrument = {
  $id: "sample",
  title: "Sample",
  type: "object",
  additionalProperties: false,
  properties: {
    weight: { type: "number", title: "Weight" },
    blowup: { type: "number", title: "Blow-up", readOnly: true, "x-calc": { if: [doubling(30), 1, 0] } },
    later: { type: "string", title: "Later", "x-visible-if": { if: [doubling(30), true, false] } },
  },
  // Three maps over 100 items each, nested: a million steps, and no scoped variable (a rule reading one is skipped).
  "x-rules": [
    { id: "r", logic: { if: [nestedMaps(3), { var: "weight" }, true] }, field: "weight", message: "m" },
  ],
};

describe("a save over budget", () => {
  it("is refused with a clear error at each field whose logic ran out, never a throw", () => {
    const { errors } = prepareForm(blowup, { weight: 70, later: "x" }, "incomplete", { $event: "e" });
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pointer: "/blowup", code: "logic-budget" }),
        expect.objectContaining({ pointer: "/later", code: "logic-budget" }),
        expect.objectContaining({ pointer: "/weight", code: "logic-budget" }),
      ]),
    );
  });

  it("leaves the calculation empty and the field shown when a page is drawn", () => {
    expect(applyCalculations(blowup, { weight: 70 }, { $event: "e" })).toEqual({ weight: 70 });
    expect(hiddenFields(blowup, { weight: 70 }, { $event: "e" })).toEqual(new Set());
  });
});

const study: StudyFile = {
  id: "s",
  title: "S",
  arms: [{ id: "a", label: "A" }],
  sites: [{ id: "site-01", name: "One", code: "01" }],
  subjectIdPattern: "^[0-9]+$",
  dayOne: { event: "v1", form: "sample", field: "day" },
  events: [{ id: "v1", label: "V1", day: 1, forms: ["sample"] }],
  logs: [],
};

function check(calc: unknown) {
  const sample: Instrument = {
    $id: "sample",
    title: "Sample",
    type: "object",
    additionalProperties: false,
    properties: {
      day: { type: "string", format: "date", title: "Day" },
      total: { type: "number", title: "Total", readOnly: true, "x-calc": calc },
    },
  };
  return checkDefinition({
    study: { path: "forms/study.json", json: study },
    instruments: [{ path: "forms/instruments/sample.json", json: sample }],
  }).errors;
}

describe("forms:check bounds the size of JSON Logic", () => {
  it("refuses an expression nested 5,000 deep, with the file and a pointer to it", () => {
    expect(check(nested(5000))).toEqual([
      {
        file: "forms/instruments/sample.json",
        pointer: "/properties/total/x-calc",
        message: expect.stringMatching(/nested .* deep.*at most/),
      },
    ]);
  });

  it("refuses an expression with too many nodes", () => {
    const wide = { "+": Array.from({ length: LOGIC_LIMITS.nodes + 1 }, () => 1) };
    expect(check(wide)).toEqual([
      expect.objectContaining({
        pointer: "/properties/total/x-calc",
        message: expect.stringMatching(/nodes/),
      }),
    ]);
  });

  it("accepts what a REDCap total of 100 fields translates to", () => {
    const fields = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`a${i}`, { kind: "number" as const }]),
    );
    const sum = Object.keys(fields)
      .map((f) => `[${f}]`)
      .join("+");
    const translated = toJsonLogic(sum, fields, { as: "value" });
    if (!("logic" in translated)) throw new Error(translated.error);
    const data = Object.fromEntries(Object.keys(fields).map((f) => [f, 1]));
    expect(evaluate(translated.logic, data)).toBe(100);
    const big = check({ "+": [translated.logic] });
    expect(big.filter((e) => /deep|nodes/.test(e.message))).toEqual([]);
  });
});
