import { describe, expect, it } from "vitest";
import type { FieldSchema } from "../../functions/engine/definition.ts";
import {
  COLUMNS,
  exportDictionary,
  importDictionary,
  readRows,
} from "../../functions/engine/redcap/dictionary.ts";
import { Field, type FieldView } from "../../functions/web/fields.tsx";

/** Issue 14: REDCap's question numbers and custom alignment survive the round trip and show on the page. */

const render = (name: string, schema: FieldSchema, extra: Partial<FieldView> = {}) =>
  String(
    Field({ f: { name, schema, value: undefined, required: false, hidden: false, history: [], ...extra } }),
  );

const header = COLUMNS.map((c) => `"${c}"`).join(",");
const line = (cells: Record<string, string>) =>
  COLUMNS.map((c) => `"${(cells[c] ?? "").replace(/"/g, '""')}"`).join(",");

describe("question numbers and alignment", () => {
  const csv = [
    header,
    line({
      "Variable / Field Name": "record_id",
      "Form Name": "visit",
      "Field Type": "text",
      "Field Label": "ID",
    }),
    line({
      "Variable / Field Name": "smoker",
      "Form Name": "visit",
      "Field Type": "yesno",
      "Field Label": "Smoker?",
      "Custom Alignment": "LH",
      "Question Number (surveys only)": "2a",
    }),
    line({
      "Variable / Field Name": "notes",
      "Form Name": "visit",
      "Field Type": "notes",
      "Field Label": "Notes",
      "Custom Alignment": "middle",
    }),
  ].join("\n");

  it("imports them as x-question-number and x-align, reports an alignment REDCap has not, and exports them back", () => {
    const r = importDictionary(csv);
    expect(r.instruments.visit?.properties.smoker).toMatchObject({
      "x-question-number": "2a",
      "x-align": "LH",
    });
    expect(r.instruments.visit?.properties.notes?.["x-align"]).toBeUndefined();
    expect(r.report).toContainEqual(
      expect.objectContaining({ field: "notes", column: "Custom Alignment", severity: "warning" }),
    );
    const back = readRows(
      exportDictionary(r.instruments, { recordIdField: "record_id", recordIdForm: "visit" }),
    ).rows;
    const smoker = back.find((row) => row["Variable / Field Name"] === "smoker");
    expect(smoker?.["Custom Alignment"]).toBe("LH");
    expect(smoker?.["Question Number (surveys only)"]).toBe("2a");
  });

  it("shows the number before the label and marks the field's alignment", () => {
    const html = render("smoker", {
      type: "boolean",
      title: "Smoker?",
      "x-question-number": "2a",
      "x-align": "LH",
    });
    expect(html).toContain('data-align="LH"');
    expect(html).toMatch(/<legend id="l-smoker"><span class="qnum">2a\.<\/span>Smoker\?/);
    expect(render("plain", { type: "string", title: "Plain" })).not.toContain("qnum");
  });
});
