import { describe, expect, it } from "vitest";
import { classify, compareFlat, matchRate, parseFlatCsv, toYmd } from "../helpers/redcap-compare.ts";

const HEADER =
  "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,weight,visit_date";

describe("compareFlat: REDCap's flat CSV against ours, cell by cell", () => {
  it("matches rows by record, event, repeat instrument and instance, whatever their order", () => {
    const theirs = [HEADER, "1,v1_arm_1,,,70,2001-01-01", "1,v1_arm_1,lab,1,71,", "2,v1_arm_1,,,80,"].join(
      "\n",
    );
    const ours = [HEADER, "2,v1_arm_1,,,80,", "1,v1_arm_1,lab,1,71,", "1,v1_arm_1,,,70,2001-01-01"].join(
      "\n",
    );
    const c = compareFlat(theirs, ours);
    expect(c).toMatchObject({ cells: 6, matched: 6, mismatches: [], missingRows: [], extraRows: [] });
    expect(c.sameColumnOrder).toBe(true);
    expect(compareFlat("record_id,a,b\n1,x,y", "record_id,b,a\n1,y,x").sameColumnOrder).toBe(false);
    expect(matchRate(c)).toBe(100);
  });

  it("lists every differing cell, and the rows and columns only one side has", () => {
    const theirs = [HEADER, "1,v1_arm_1,,,70,2001-01-01", "3,v1_arm_1,,,90,"].join("\n");
    const ours = [
      "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,weight,extra",
      "1,v1_arm_1,,,71,x",
      "4,v1_arm_1,,,90,",
    ].join("\n");
    const c = compareFlat(theirs, ours);
    expect(c.cells).toBe(4);
    expect(c.matched).toBe(0);
    expect(c.missingRows).toEqual(["3 / v1_arm_1 /  / "]);
    expect(c.extraRows).toEqual(["4 / v1_arm_1 /  / "]);
    expect(c.extraColumns).toEqual(["extra"]);
    expect(c.missingColumns).toEqual(["visit_date"]);
    expect(c.mismatches).toContainEqual({
      record: "1",
      event: "v1_arm_1",
      instrument: "",
      instance: "",
      column: "weight",
      expected: "70",
      actual: "71",
    });
    expect(c.mismatches.filter((m) => m.actual === undefined)).toHaveLength(3);
    expect(matchRate(c)).toBe(0);
  });

  it("forgives the same number written differently, and counts it; never a different number or text", () => {
    const theirs = "record_id,a,b,c,d\n1,31.0,.5,31,abc";
    const ours = "record_id,a,b,c,d\n1,31,0.5,31.5,ABC";
    const c = compareFlat(theirs, ours);
    expect(c.matched).toBe(2);
    expect(c.normalised["number-notation"]).toBe(2);
    expect(c.mismatches.map((m) => m.column)).toEqual(["c", "d"]);
  });

  it("reads REDCap's dates in another format only when told, and counts them", () => {
    const theirs = "record_id,d,t\n1,31-12-2001,31-12-2001 10:30";
    const ours = "record_id,d,t\n1,2001-12-31,2001-12-31 10:30";
    expect(compareFlat(theirs, ours).matched).toBe(0);
    const c = compareFlat(theirs, ours, { expectedDateFormat: "DMY" });
    expect(c.matched).toBe(2);
    expect(c.normalised["date-format"]).toBe(2);
    expect(toYmd("12/31/2001", "MDY")).toBe("2001-12-31");
    expect(toYmd("not a date", "MDY")).toBeUndefined();
  });

  it("keeps quoted commas, quotes and line breaks inside a cell", () => {
    const file = parseFlatCsv('record_id,address\n1,"88 Dawnview Way, ""B""\nline 2"\n');
    expect(file.rows).toEqual([{ record_id: "1", address: '88 Dawnview Way, "B"\nline 2' }]);
  });

  it("refuses a file with two rows for the same key rather than comparing one of them", () => {
    expect(() => compareFlat("record_id,a\n1,x\n1,y", "record_id,a\n1,x")).toThrow(/two rows/);
  });
});

describe("classify", () => {
  it("counts each mismatch under the first kind that explains it, and returns the rest", () => {
    const c = compareFlat("record_id,f,g\n1,doc.pdf,3", "record_id,f,g\n1,,2");
    const { counts, unexplained } = classify(c.mismatches, [
      { name: "file-field", matches: (m) => m.column === "f" },
      { name: "never", matches: () => false },
    ]);
    expect(counts).toEqual({ "file-field": 1 });
    expect(unexplained.map((m) => m.column)).toEqual(["g"]);
  });
});
