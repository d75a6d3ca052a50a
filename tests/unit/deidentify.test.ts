import { describe, expect, it } from "vitest";
import {
  dateShift,
  deidentification,
  deidentifyChange,
  shiftDate,
  subjectKey,
} from "../../functions/exports/deidentify.ts";
import { smallDefinition } from "./small-study.ts";

describe("shiftDate", () => {
  it("moves a date or a date-time by whole days, keeping the time of day", () => {
    expect(shiftDate("2024-02-28", 2)).toBe("2024-03-01");
    expect(shiftDate("2024-03-01T10:30:00Z", -1)).toBe("2024-02-29T10:30:00Z");
    expect(shiftDate("2024-01-01", 0)).toBe("2024-01-01");
  });

  it("leaves what is not a date as it is", () => {
    expect(shiftDate("unknown", 10)).toBe("unknown");
  });
});

describe("keyed by the study's salt", () => {
  it("shifts a subject by the same non-zero number of days within ±180 on every export", () => {
    const shifts = Array.from({ length: 200 }, (_, i) => dateShift("salt", `S1-${i}`));
    for (const d of shifts) {
      expect(d).not.toBe(0);
      expect(Math.abs(d)).toBeLessThanOrEqual(180);
    }
    expect(dateShift("salt", "S1-7")).toBe(shifts[7]);
    expect(new Set(shifts).size).toBeGreaterThan(50);
  });

  it("gives a stable 16-hex-digit subject key that depends on the salt", () => {
    expect(subjectKey("salt", "S1-001")).toMatch(/^[0-9a-f]{16}$/);
    expect(subjectKey("salt", "S1-001")).toBe(subjectKey("salt", "S1-001"));
    expect(subjectKey("other", "S1-001")).not.toBe(subjectKey("salt", "S1-001"));
  });

  it("builds only the parts asked for, always dropping identifiers", () => {
    const none = deidentification("salt", { shiftDates: false, hashIds: false });
    expect(none).toEqual({ dropIdentifiers: true });
    const both = deidentification("salt", { shiftDates: true, hashIds: true });
    expect(both.shiftDays?.("S1-001")).toBe(dateShift("salt", "S1-001"));
    expect(both.subjectKey?.("S1-001")).toBe(subjectKey("salt", "S1-001"));
  });
});

describe("deidentifyChange", () => {
  const { instruments } = smallDefinition();
  const change = {
    subject: "S1-001",
    form: "visit",
    committedAt: "2024-05-10T08:00:00.000Z",
    data: { visit_date: "2024-05-10", initials: "AB", weight: 70 },
    changes: [
      { field: "initials", old: null, new: "AB" },
      { field: "visit_date", old: "2024-05-01", new: "2024-05-10" },
    ],
    rev: 2,
  };

  it("drops identifiers, shifts dates (commit time too) and keys the subject", () => {
    const out = deidentifyChange(change, instruments, {
      dropIdentifiers: true,
      shiftDays: () => 3,
      subjectKey: (s) => `k-${s}`,
    });
    expect(out).toEqual({
      subject: "k-S1-001",
      form: "visit",
      committedAt: "2024-05-13T08:00:00.000Z",
      data: { visit_date: "2024-05-13", weight: 70 },
      changes: [{ field: "visit_date", old: "2024-05-04", new: "2024-05-13" }],
      rev: 2,
    });
  });

  it("keeps identifiers and dates when not asked to touch them", () => {
    expect(deidentifyChange(change, instruments, { dropIdentifiers: false })).toEqual(change);
  });
});
