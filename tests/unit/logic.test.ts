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
    // text that is no date gives no difference, as in REDCap (a runtime's Date reads "0" as 2000-01-01)
    for (const notADate of ["0", "10.5", "1/1/2020", "March 2024"])
      expect(evaluate({ datediff: [notADate, "1969-03-05", "y"] }, {}), notADate).toBeNull();
  });

  it("adds to a date like REDCap's @CALCDATE, keeping the shape the date came in", () => {
    expect(evaluate({ date_add: ["2024-01-30", 2, "d"] }, {})).toBe("2024-02-01");
    expect(evaluate({ date_add: ["2024-03-01", -1, "w"] }, {})).toBe("2024-02-23");
    // a month is 30.44 days and a year 365.2425, as REDCap counts them; a date stays a date
    expect(evaluate({ date_add: ["2024-01-01", 1, "M"] }, {})).toBe("2024-01-31");
    expect(evaluate({ date_add: ["2023-01-01", 1, "y"] }, {})).toBe("2024-01-01");
    expect(evaluate({ date_add: ["2024-01-01T22:30", 90, "m"] }, {})).toBe("2024-01-02T00:00");
    expect(evaluate({ date_add: ["2024-01-01T22:30:00Z", 2, "h"] }, {})).toBe("2024-01-02T00:30:00Z");
    expect(evaluate({ date_add: [{ var: "d" }, 1] }, {})).toBeNull();
    expect(evaluate({ date_add: ["2024-01-01", { var: "n" }, "d"] }, {})).toBeNull();
    expect(evaluate({ date_add: ["2024-01-01", 1, "q"] }, {})).toBeNull();
  });

  it("lists the ticked (or unticked) boxes' titles like REDCap's [cb:checked] / [cb:unchecked]", () => {
    const choices = [
      [1, "Fever"],
      [2, "Cough"],
      [3, "Rash"],
    ];
    expect(evaluate({ checked: [{ var: "cb" }, choices] }, { cb: [3, 1] })).toBe("Fever, Rash");
    expect(evaluate({ checked: [{ var: "cb" }, choices, false] }, { cb: [3, 1] })).toBe("Cough");
    expect(evaluate({ checked: [{ var: "cb" }, choices] }, {})).toBe("");
    expect(evaluate({ checked: [{ var: "cb" }, choices, false] }, {})).toBe("Fever, Cough, Rash");
  });

  it("reads today and now from the evaluation's clock ($now), so a stored calculation can be explained", () => {
    const $now = "2026-03-04T05:06:07.000Z";
    expect(evaluate({ today: [] }, { $now })).toBe("2026-03-04");
    expect(evaluate({ now: [] }, { $now })).toBe("2026-03-04T05:06");
    expect(evaluate({ datediff: ["2000-03-04", { today: [] }, "y"] }, { $now }) as number).toBeCloseTo(26, 2);
    // without a clock in the context: the machine's, which is a date all the same
    expect(evaluate({ today: [] }, {})).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("computes REDCap's numeric functions, empty when an input is", () => {
    expect(evaluate({ sqrt: [{ var: "x" }] }, { x: 16 })).toBe(4);
    expect(evaluate({ sqrt: [{ var: "x" }] }, { x: -1 })).toBeNull();
    expect(evaluate({ sqrt: [{ var: "x" }] }, {})).toBeNull();
    expect(evaluate({ abs: ["-2.5"] }, {})).toBe(2.5);
    expect(evaluate({ abs: [""] }, {})).toBeNull();
    expect(evaluate({ rounddown: [2.789, 2] }, {})).toBe(2.78);
    expect(evaluate({ roundup: [2.781, 2] }, {})).toBe(2.79);
    expect(evaluate({ rounddown: [-2.5] }, {})).toBe(-3);
    expect(evaluate({ roundup: [null] }, {})).toBeNull();
    expect(evaluate({ sum: [1, null, "2", ""] }, {})).toBe(3);
    expect(evaluate({ mean: [1, null, 2, 6] }, {})).toBe(3);
    expect(evaluate({ mean: [null, ""] }, {})).toBeNull();
  });

  it("takes a date's year, month and day", () => {
    expect(evaluate({ year: ["2024-06-15"] }, {})).toBe(2024);
    expect(evaluate({ month: ["2024-06-15T10:30"] }, {})).toBe(6);
    expect(evaluate({ day: [{ var: "d" }] }, { d: "2024-06-05" })).toBe(5);
    expect(evaluate({ year: ["15/06/2024"] }, {})).toBeNull();
    expect(evaluate({ day: [{ var: "d" }] }, {})).toBeNull();
  });

  it("works on text like REDCap: 1-based positions, case-insensitive searches, empty stays empty", () => {
    const t = { t: "Hello World" };
    expect(evaluate({ left: [{ var: "t" }, 4] }, t)).toBe("Hell");
    expect(evaluate({ right: [{ var: "t" }, 3] }, t)).toBe("rld");
    expect(evaluate({ mid: [{ var: "t" }, 7, 3] }, t)).toBe("Wor");
    expect(evaluate({ length: [{ var: "t" }] }, t)).toBe(11);
    expect(evaluate({ length: [{ var: "none" }] }, t)).toBe(0);
    expect(evaluate({ find: ["world", { var: "t" }] }, t)).toBe(7);
    expect(evaluate({ find: ["x", { var: "t" }] }, t)).toBe(0);
    expect(evaluate({ contains: [{ var: "t" }, "WORLD"] }, t)).toBe(true);
    expect(evaluate({ starts_with: [{ var: "t" }, "he"] }, t)).toBe(true);
    expect(evaluate({ ends_with: [{ var: "t" }, "hello"] }, t)).toBe(false);
    expect(evaluate({ upper: [{ var: "t" }] }, t)).toBe("HELLO WORLD");
    expect(evaluate({ lower: [{ var: "t" }] }, t)).toBe("hello world");
    expect(evaluate({ trim: ["  a b  "] }, {})).toBe("a b");
    expect(evaluate({ concat: [{ var: "t" }, "-", 3, null] }, t)).toBe("Hello World-3");
    expect(evaluate({ left: [{ var: "none" }, 2] }, t)).toBeNull();
    expect(evaluate({ upper: [""] }, {})).toBeNull();
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
