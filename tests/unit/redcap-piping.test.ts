import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { exportDictionary, importDictionary, readRows } from "../../functions/engine/redcap/dictionary.ts";
import { importProject } from "../../functions/engine/redcap/import-project.ts";
import { readProjectXml } from "../../functions/engine/redcap/project-xml.ts";

const HEADER =
  '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label","Choices, Calculations, OR Slider Labels","Field Note","Text Validation Type OR Show Slider Number","Text Validation Min","Text Validation Max","Identifier?","Branching Logic (Show field only if...)","Required Field?","Custom Alignment","Question Number (surveys only)","Matrix Group Name","Matrix Ranking?","Field Annotation"\n';
const row = (cells: string[]) => `${cells.map((c) => `"${c}"`).join(",")}${",".repeat(18 - cells.length)}\n`;

const dictionary =
  HEADER +
  row(["record_id", "demo", "", "text", "Record ID"]) +
  row(["name", "demo", "", "text", "Name"]) +
  row(["sex", "demo", "", "radio", "Sex", "1, Female | 2, Male"]) +
  row([
    "nick",
    "demo",
    "About [name] ([record-name])",
    "text",
    "Nickname of [name:label]",
    "",
    "Code [sex:value]",
  ]) +
  row([
    "weight",
    "visit",
    "",
    "radio",
    "Weight of [name] at [event-label] #[current-instance], baseline sex [baseline_arm_1][sex]",
    "1, Same as [baseline_arm_1][name] | 2, Other",
  ]) +
  row(["other", "visit", "", "text", "Link [survey-link] and [sex(1)] and [name:checked]"]);

describe("REDCap piping import and export", () => {
  const r = importDictionary(dictionary);

  it("translates field, event, record and instance piping into the engine's", () => {
    const nick = r.instruments.demo?.properties.nick;
    expect(nick?.title).toBe("Nickname of {{name}}");
    expect(nick?.description).toBe("Code {{sex:value}}");
    expect(nick?.["x-section"]).toBe("About {{name}} ({{subject.id}})");
    const weight = r.instruments.visit?.properties.weight;
    expect(weight?.title).toBe(
      "Weight of {{demo.name}} at {{event.label}} #{{instance}}, baseline sex {{baseline_arm_1.demo.sex}}",
    );
    expect(weight?.oneOf?.[0]?.title).toBe("Same as {{baseline_arm_1.demo.name}}");
    // The dictionary has no events to check an event's pipe against: no error until the project is imported.
    expect(r.report.filter((i) => i.severity === "error")).toEqual([]);
  });

  it("keeps and reports what it cannot pipe", () => {
    expect(r.instruments.visit?.properties.other?.title).toBe(
      "Link [survey-link] and [sex(1)] and [name:checked]",
    );
    const messages = r.report
      .filter((i) => i.field === "other")
      .map((i) => [i.column, i.severity, i.message]);
    expect(messages).toEqual([
      ["Field Label", "warning", "[survey-link] is not piped by the engine: it is shown as written"],
      ["Field Label", "warning", "[sex(1)] is not piped by the engine: it is shown as written"],
      ["Field Label", "warning", "[name:checked] is not piped by the engine: it is shown as written"],
    ]);
  });

  it("exports the protocol's piping back as REDCap's", () => {
    const rows = readRows(
      exportDictionary(r.instruments, {
        recordIdField: r.recordIdField,
        recordIdLabel: r.recordId?.label,
        recordIdForm: r.recordId?.form,
        formOrder: r.formOrder,
      }),
    ).rows;
    const byName = new Map(rows.map((x) => [x["Variable / Field Name"], x]));
    expect(byName.get("nick")?.["Field Label"]).toBe("Nickname of [name]");
    expect(byName.get("nick")?.["Field Note"]).toBe("Code [sex:value]");
    expect(byName.get("nick")?.["Section Header"]).toBe("About [name] ([record-name])");
    expect(byName.get("weight")?.["Field Label"]).toBe(
      "Weight of [name] at [event-label] #[current-instance], baseline sex [baseline_arm_1][sex]",
    );
    expect(byName.get("weight")?.["Choices, Calculations, OR Slider Labels"]).toBe(
      "1, Same as [baseline_arm_1][name] | 2, Other",
    );
    expect(byName.get("other")?.["Field Label"]).toBe("Link [survey-link] and [sex(1)] and [name:checked]");
  });
});

describe("REDCap piping in a longitudinal project", () => {
  it("names the study's event for REDCap's unique event name, and the engine check accepts it", () => {
    const fixture = fileURLToPath(
      new URL("../fixtures/redcap-projects/longitudinal/project.xml", import.meta.url),
    );
    const pieces = readProjectXml(readFileSync(fixture, "utf8"));
    const row = pieces.dictionary.find(
      (r) => r["Form Name"] === "visit_lab_data" && r["Field Type"] === "text",
    );
    if (!row) throw new Error("no text field on visit_lab_data");
    row["Field Label"] = "Enrolled on [enrollment_arm_1][date_enrolled]: [record-name]";
    const result = importProject(pieces, { id: "piped" });
    const name = row["Variable / Field Name"];
    expect(result.instruments.visit_lab_data?.properties[name]?.title).toBe(
      "Enrolled on {{enrollment.demographics.date_enrolled}}: {{subject.id}}",
    );
    expect(result.report.filter((i) => i.message.startsWith("engine check"))).toEqual([]);
  });
});

describe("REDCap piping export with renamed fields", () => {
  it("points a pipe at the field's exported name", () => {
    const form = (id: string, properties: Record<string, unknown>) =>
      ({ $id: id, title: id, type: "object", properties }) as any;
    const instruments = {
      demo: form("demo", { weight: { type: "number", title: "Weight, then {{visit.weight}}" } }),
      visit: form("visit", { weight: { type: "number", title: "Weight now (was {{demo.weight}})" } }),
    };
    const rows = readRows(exportDictionary(instruments, { recordIdField: "record_id" })).rows;
    const label = (name: string) => rows.find((r) => r["Variable / Field Name"] === name)?.["Field Label"];
    expect(label("weight")).toBe("Weight, then [visit_weight]");
    expect(label("visit_weight")).toBe("Weight now (was [weight])");
  });
});
