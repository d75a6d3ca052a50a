import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { readImportRows } from "../../functions/exports/redcap-records-in.ts";

let definition: StudyDefinition;
beforeAll(async () => {
  definition = await loadDefinition(path.resolve(import.meta.dirname, "../../forms"));
});

const ae = (cells: Record<string, string>) => ({
  record_id: "01-001",
  redcap_event_name: "logs_arm_1",
  redcap_repeat_instrument: "adverse_event",
  redcap_repeat_instance: "3",
  ...cells,
});

describe("REDCap flat rows read back as form instances", () => {
  it("types each cell by its field's schema, dates in the dateFormat asked for", () => {
    const row = ae({ onset_date: "03/04/2024", ongoing: "0", ctcae_grade: "2", adverse_event_complete: "1" });
    const mdy = readImportRows(definition, [row], "MDY");
    expect(mdy.refused).toEqual([]);
    expect(mdy.instances).toEqual([
      expect.objectContaining({
        event: "logs",
        form: "adverse_event",
        instance: 3,
        values: { onset_date: "2024-03-04", ongoing: false, ctcae_grade: 2 },
        status: "unverified",
      }),
    ]);
    expect(readImportRows(definition, [row], "DMY").instances[0]?.values.onset_date).toBe("2024-04-03");
  });

  it("lists every value it cannot read, by record, event and field", () => {
    const { refused } = readImportRows(definition, [
      ae({
        ctcae_grade: "9",
        ongoing: "maybe",
        onset_date: "2024-13",
        adverse_event_complete: "5",
        nope: "",
      }),
    ]);
    expect(refused.map((r) => [r.record, r.event, r.field])).toEqual([
      ["", "", "nope"],
      ["01-001", "logs_arm_1", "ctcae_grade"],
      ["01-001", "logs_arm_1", "ongoing"],
      ["01-001", "logs_arm_1", "onset_date"],
      ["01-001", "logs_arm_1", "adverse_event_complete"],
    ]);
  });

  it("keeps free text as given, spaces around it included; codes and numbers are read trimmed", () => {
    const { instances, refused } = readImportRows(definition, [
      ae({ ae_term: " Fatigue, then rest.  ", ctcae_grade: " 2 " }),
    ]);
    expect(refused).toEqual([]);
    expect(instances[0]?.values).toEqual({ ae_term: " Fatigue, then rest.  ", ctcae_grade: 2 });
  });

  it("reads a comma-decimal field's number with its decimal comma (or a dot)", () => {
    const comma = structuredClone(definition);
    const form = comma.instruments.adverse_event;
    if (!form) throw new Error("no adverse_event form");
    form.properties.ae_dose_mg = {
      type: "number",
      title: "Dose",
      "x-text-validation": "number_comma_decimal",
    };
    const read = (text: string) => readImportRows(comma, [ae({ ae_dose_mg: text })]);
    expect(read("52,3").instances[0]?.values).toEqual({ ae_dose_mg: 52.3 });
    expect(read("52.3").instances[0]?.values).toEqual({ ae_dose_mg: 52.3 });
    expect(read("52,3,1").refused.map((r) => r.message)).toEqual(["is not a number"]);
    // Without the comma validation a comma is no decimal separator.
    expect(readImportRows(definition, [ae({ ctcae_grade: "1,5" })]).refused).toHaveLength(1);
  });

  it("keeps blanks apart from values and skips forms with nothing given", () => {
    const { instances } = readImportRows(definition, [ae({ ae_term: "", ongoing: "1" })]);
    expect(instances).toEqual([expect.objectContaining({ values: { ongoing: true }, blanks: ["ae_term"] })]);
    expect(readImportRows(definition, [ae({ ae_term: "" })]).instances[0]?.given).toBe(false);
  });

  it("reads a classic project's rows, which name no event: its one event, or the logs for a repeat", () => {
    const screening = definition.study.events.find((e) => e.id === "screening");
    const [arm] = definition.study.arms;
    if (!screening || !arm) throw new Error("no screening event or arm");
    const classic: StudyDefinition = {
      ...definition,
      study: { ...definition.study, arms: [arm], events: [screening] },
    };
    const rows: Record<string, string>[] = [
      { record_id: "a", diagnosis: "rrms", diagnosis_complete: "2" },
      {
        record_id: "a",
        redcap_repeat_instrument: "adverse_event",
        redcap_repeat_instance: "2",
        ae_term: "Fatigue",
      },
    ];
    const { instances, refused } = readImportRows(classic, rows);
    expect(refused).toEqual([]);
    expect(instances.map((i) => [i.event, i.form, i.instance, i.arm])).toEqual([
      ["screening", "diagnosis", 1, "rrms"],
      ["logs", "adverse_event", 2, "rrms"],
    ]);
    // A longitudinal project still needs the event named.
    expect(readImportRows(definition, rows).refused.map((r) => r.field)).toEqual([
      "redcap_event_name",
      "redcap_event_name",
    ]);
  });
});
