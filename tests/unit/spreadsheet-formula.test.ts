import { describe, expect, it } from "vitest";
import { emptyRow } from "../../functions/engine/redcap/columns.ts";
import { readRows, writeRows } from "../../functions/engine/redcap/dictionary.ts";
import { neutraliseFormula, restoreFormula } from "../../functions/engine/spreadsheet-formula.ts";

describe("spreadsheet formulas (OWASP CSV injection)", () => {
  it("prefixes ' to a cell a spreadsheet would run, and only to those", () => {
    for (const v of ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
      expect(neutraliseFormula(v)).toBe(`'${v}`);
    for (const v of ["a=1", "", "'=1", 5, -5]) expect(neutraliseFormula(v)).toBe(v);
  });

  it("reads a neutralised data dictionary back as it was written", () => {
    const row = emptyRow();
    row["Variable / Field Name"] = "x";
    row["Form Name"] = "f";
    row["Field Type"] = "text";
    row["Field Label"] = '=HYPERLINK("http://evil.example")';
    row["Field Annotation"] = "@CHARLIMIT=10";
    const neutralised = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, neutraliseFormula(v)]));
    const text = writeRows([neutralised as typeof row]);
    expect(text).toContain("'@CHARLIMIT=10");
    expect(readRows(text).rows).toEqual([row]);
    expect(restoreFormula("'not a formula")).toBe("'not a formula");
  });
});
