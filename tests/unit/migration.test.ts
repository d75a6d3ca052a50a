import { describe, expect, it } from "vitest";
import { describeMigration, type Migration, migrateData } from "../../functions/engine/migration.ts";

const migration: Migration = {
  renames: { visit: { smoking: "smoker", wt: "weight" } },
  recodes: { visit: { smoker: { "1": "never", "2": "current" }, symptoms: { ache: "pain", sore: "pain" } } },
};

describe("migrateData", () => {
  it("renames, then recodes under the new name", () => {
    expect(migrateData("visit", { smoking: 2, wt: 70, other: "x" }, migration)).toEqual({
      smoker: "current",
      weight: 70,
      other: "x",
    });
  });

  it("recodes each element of a multiple choice and drops the duplicates a merge makes", () => {
    expect(migrateData("visit", { symptoms: ["ache", "sore", "fatigue"] }, migration)).toEqual({
      symptoms: ["pain", "fatigue"],
    });
  });

  it("keeps a value already under the new name rather than overwrite it", () => {
    expect(migrateData("visit", { smoking: 1, smoker: "former" }, migration)).toEqual({
      smoking: 1,
      smoker: "former",
    });
  });

  it("changes nothing more when applied twice", () => {
    const once = migrateData("visit", { smoking: 1, symptoms: ["ache"] }, migration);
    expect(migrateData("visit", once, migration)).toEqual(once);
  });

  it("leaves other forms, unknown codes and inherited names alone, and never edits its input", () => {
    const data = { smoking: 1 };
    expect(migrateData("labs", data, migration)).toEqual({ smoking: 1 });
    expect(migrateData("visit", { smoker: "3" }, migration)).toEqual({ smoker: "3" });
    expect(migrateData("visit", { smoker: "toString" }, migration)).toEqual({ smoker: "toString" });
    migrateData("visit", data, migration);
    expect(data).toEqual({ smoking: 1 });
    expect(migrateData("visit", data, undefined)).toBe(data);
  });
});

describe("describeMigration", () => {
  it("says what happens to a form in words", () => {
    expect(describeMigration("visit", migration)).toEqual([
      "renamed smoking → smoker",
      "renamed wt → weight",
      "recoded smoker 1→never, 2→current",
      "recoded symptoms ache→pain, sore→pain",
    ]);
    expect(describeMigration("labs", migration)).toEqual([]);
  });
});
