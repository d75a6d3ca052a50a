import { describe, expect, it } from "vitest";
import type { StudyFile } from "../../functions/engine/definition.ts";
import { nextFormOfVisit } from "../../functions/engine/next-form.ts";

const study = {
  events: [
    { id: "screening", label: "Screening", forms: ["consent", "demographics", "labs"] },
    { id: "unscheduled", label: "Unscheduled", repeatable: true, forms: ["vital_signs", "labs"] },
  ],
  logs: ["adverse_event"],
} as unknown as StudyFile;

describe("nextFormOfVisit", () => {
  it("follows the visit's form order and ends after the last form", () => {
    expect(nextFormOfVisit(study, "screening", "consent")).toBe("demographics");
    expect(nextFormOfVisit(study, "screening", "demographics")).toBe("labs");
    expect(nextFormOfVisit(study, "screening", "labs")).toBeUndefined();
    expect(nextFormOfVisit(study, "unscheduled", "vital_signs")).toBe("labs");
  });

  it("has no next form for a log or an unknown event or form", () => {
    expect(nextFormOfVisit(study, "logs", "adverse_event")).toBeUndefined();
    expect(nextFormOfVisit(study, "nowhere", "consent")).toBeUndefined();
    expect(nextFormOfVisit(study, "screening", "constructor")).toBeUndefined();
  });
});
