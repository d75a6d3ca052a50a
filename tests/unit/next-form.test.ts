import { describe, expect, it } from "vitest";
import type { StudyFile } from "../../functions/engine/definition.ts";
import { nextFormOfVisit } from "../../functions/engine/next-form.ts";

const study = {
  events: [
    { id: "screening", label: "Screening", forms: ["consent", "demographics", "labs"] },
    { id: "unscheduled", label: "Unscheduled", repeatable: true, forms: ["vital_signs", "labs"] },
    {
      id: "baseline",
      label: "Baseline",
      forms: ["vital_signs", "mri", "labs"],
      armForms: { b: ["vital_signs", "labs"] },
    },
  ],
  logs: ["adverse_event"],
} as unknown as StudyFile;

describe("nextFormOfVisit", () => {
  it("follows the visit's form order and ends after the last form", () => {
    expect(nextFormOfVisit(study, "a", "screening", "consent")).toBe("demographics");
    expect(nextFormOfVisit(study, "a", "screening", "demographics")).toBe("labs");
    expect(nextFormOfVisit(study, "a", "screening", "labs")).toBeUndefined();
    expect(nextFormOfVisit(study, "a", "unscheduled", "vital_signs")).toBe("labs");
  });

  it("follows the subject's arm's own forms where the event lists them", () => {
    expect(nextFormOfVisit(study, "a", "baseline", "vital_signs")).toBe("mri");
    expect(nextFormOfVisit(study, "b", "baseline", "vital_signs")).toBe("labs");
    expect(nextFormOfVisit(study, "b", "baseline", "mri")).toBeUndefined();
  });

  it("has no next form for a log or an unknown event or form", () => {
    expect(nextFormOfVisit(study, "a", "logs", "adverse_event")).toBeUndefined();
    expect(nextFormOfVisit(study, "a", "nowhere", "consent")).toBeUndefined();
    expect(nextFormOfVisit(study, "a", "screening", "constructor")).toBeUndefined();
  });
});
