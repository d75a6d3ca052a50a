import { describe, expect, it } from "vitest";
import {
  describeMigration,
  type Migration,
  migrateData,
  typedMigration,
} from "../../functions/engine/migration.ts";
import { instrument, smallDefinition, visit } from "./small-study.ts";

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

describe("typedMigration", () => {
  it("gives each recode the type of the new field's choice codes, as JSON text cannot ('1' → 1, as REDCap codes are)", () => {
    const definition = smallDefinition(2, {
      ...smallDefinition().instruments,
      visit: instrument("visit", {
        ...visit.properties,
        smoker: {
          type: "integer",
          title: "Smoker",
          oneOf: [
            { const: 0, title: "Never" },
            { const: 2, title: "Current" },
          ],
        },
        symptoms: {
          type: "array",
          title: "Symptoms",
          items: { type: "integer", oneOf: [{ const: 1, title: "Pain" }] },
        },
      }),
    });
    const typed = typedMigration(
      { recodes: { visit: { smoker: { "1": "2" }, symptoms: { "3": "1" }, initials: { a: "1" } } } },
      definition,
    );
    expect(typed.recodes).toEqual({
      visit: { smoker: { "1": 2 }, symptoms: { "3": 1 }, initials: { a: "1" } },
    });
    expect(migrateData("visit", { smoker: 1, symptoms: [3] }, typed)).toEqual({ smoker: 2, symptoms: [1] });
  });
});
