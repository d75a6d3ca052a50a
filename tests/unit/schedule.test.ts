import { describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { EventDef } from "../../functions/engine/definition.ts";
import {
  dateOfStudyDay,
  scheduleDateFields,
  studyDayOf,
  visitWindow,
} from "../../functions/engine/schedule.ts";

describe("study days", () => {
  it("has no day 0: day -1 is the day before day 1", () => {
    expect(dateOfStudyDay("2024-03-01", 1)).toBe("2024-03-01");
    expect(dateOfStudyDay("2024-03-01", -1)).toBe("2024-02-29");
    expect(dateOfStudyDay("2024-03-01", 90)).toBe("2024-05-29");
    expect(studyDayOf("2024-03-01", "2024-02-29")).toBe(-1);
    expect(studyDayOf("2024-03-01", "2024-03-01")).toBe(1);
    expect(studyDayOf("2024-03-01", "2025-03-01")).toBe(366);
  });

  it("round-trips every day of a ten-year study", () => {
    for (let day = -28; day <= 3650; day += day === -1 ? 2 : 1) {
      expect(studyDayOf("2023-06-15", dateOfStudyDay("2023-06-15", day))).toBe(day);
    }
  });
});

describe("visit windows", () => {
  const event = (day: number, before: number, after: number): EventDef => ({
    id: "e",
    label: "E",
    day,
    window: { before, after },
    forms: [],
  });

  it("spans target ± window in calendar days", () => {
    expect(visitWindow(event(90, 14, 14), "2024-03-01")).toEqual({
      target: "2024-05-29",
      earliest: "2024-05-15",
      latest: "2024-06-12",
    });
  });

  it("skips the missing day 0 when a window straddles day 1", () => {
    // Day 1 ± 1 is days -1, 1, 2: the calendar day before day 1 through the day after.
    expect(visitWindow(event(1, 1, 1), "2024-03-01")).toEqual({
      target: "2024-03-01",
      earliest: "2024-02-29",
      latest: "2024-03-02",
    });
    // Screening: day -1, 27 days before → days -28..-1.
    expect(visitWindow(event(-1, 27, 0), "2024-03-01")).toMatchObject({
      earliest: "2024-02-02",
      latest: "2024-02-29",
    });
  });

  it("has no window for an unscheduled visit", () => {
    expect(visitWindow({ id: "u", label: "U", forms: [], repeatable: true }, "2024-03-01")).toBeUndefined();
  });
});

describe("scheduleDateFields", () => {
  it("lists, per form, the visit-date fields and day one's anchor: nothing else of the data", async () => {
    const definition = await loadDefinition("forms");
    const fields = scheduleDateFields(definition);
    expect(fields.infusion).toEqual(["infusion_date"]);
    expect(fields.vital_signs).toEqual(["vs_date"]);
    expect(fields.demographics).toBeUndefined();
    expect(Object.values(fields).every((f) => f.length === 1)).toBe(true);
    const moved = {
      ...definition,
      study: { ...definition.study, dayOne: { event: "screening", form: "demographics", field: "dob" } },
    };
    expect(scheduleDateFields(moved).demographics).toEqual(["dob"]);
  });
});
