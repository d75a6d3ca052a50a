import { describe, expect, it } from "vitest";
import { evaluate, isEmpty, logicVariables } from "../../functions/engine/logic.ts";

describe("the protocol's JSON Logic operations", () => {
  it("rounds, and leaves an incomplete input empty", () => {
    expect(evaluate({ round: [1.005, 2] }, {})).toBe(1.01);
    expect(evaluate({ round: [{ var: "x" }, 1] }, { x: 2.25 })).toBe(2.3);
    expect(evaluate({ round: [{ var: "x" }, 1] }, {})).toBeNull();
  });

  it("computes datediff like REDCap (b − a) in days, weeks, months and years", () => {
    expect(evaluate({ datediff: ["2024-01-01", "2024-03-01", "d"] }, {})).toBe(60);
    expect(evaluate({ datediff: ["2024-01-01", "2024-01-15", "w"] }, {})).toBe(2);
    expect(evaluate({ datediff: ["2000-06-15", "2024-06-15", "y"] }, {}) as number).toBeCloseTo(24, 1);
    expect(evaluate({ datediff: ["2024-03-01", "2024-01-01"] }, {})).toBe(-60);
    expect(evaluate({ datediff: [{ var: "a" }, "2024-01-01"] }, {})).toBeNull();
  });

  it("knows what empty means", () => {
    expect([undefined, null, "", []].every(isEmpty)).toBe(true);
    expect([0, false, "0", [0]].some(isEmpty)).toBe(false);
    expect(evaluate({ isempty: { var: "x" } }, { x: "" })).toBe(true);
  });

  it("lists the variables an expression reads, including defaults and dotted paths", () => {
    expect(
      logicVariables({
        and: [{ var: "a" }, { "==": [{ var: ["$latest.vital_signs.weight", 0] }, 1] }, { var: "" }],
      }).sort(),
    ).toEqual(["$latest.vital_signs.weight", "a"]);
  });
});
