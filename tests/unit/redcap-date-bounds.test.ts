import { describe, expect, it } from "vitest";
import {
  COLUMNS,
  exportDictionary,
  importDictionary,
  readRows,
} from "../../functions/engine/redcap/dictionary.ts";

/** REDCap's date validation min/max ("today" or Y-M-D) are the engine's enforced x-date-min / x-date-max. */
describe("REDCap date bounds", () => {
  const header = `${COLUMNS.map((c) => JSON.stringify(c)).join(",")}\n`;
  const row = (cells: string[]) => `${cells.map((c) => JSON.stringify(c)).join(",")}\n`;
  const text =
    header +
    row(["record_id", "f", "", "text", "Record ID"]) +
    row(["dob", "f", "", "text", "Date of birth", "", "", "date_dmy", "1900-01-01", "today"]);

  it("imports them as enforced bounds, without a warning", () => {
    const r = importDictionary(text);
    expect(r.instruments.f?.properties.dob).toMatchObject({
      format: "date",
      "x-date-min": "1900-01-01",
      "x-date-max": "today",
    });
    expect(r.report.filter((i) => i.field === "dob")).toEqual([]);
  });

  it("exports them back to the same columns", () => {
    const back = readRows(exportDictionary(importDictionary(text).instruments)).rows;
    const dob = back.find((r) => r["Variable / Field Name"] === "dob");
    expect([dob?.["Text Validation Min"], dob?.["Text Validation Max"]]).toEqual(["1900-01-01", "today"]);
  });

  it('"study-start", which REDCap cannot say, leaves the column empty and comes back from @X-SCHEMA', () => {
    const instruments = importDictionary(text).instruments;
    const f = instruments.f;
    if (!f?.properties.dob) throw new Error("no dob");
    f.properties.dob["x-date-min"] = "study-start";
    const exported = exportDictionary(instruments);
    const dob = readRows(exported).rows.find((r) => r["Variable / Field Name"] === "dob");
    expect(dob?.["Text Validation Min"]).toBe("");
    expect(importDictionary(exported).instruments.f?.properties.dob?.["x-date-min"]).toBe("study-start");
  });
});
