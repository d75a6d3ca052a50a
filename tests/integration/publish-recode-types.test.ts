import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { BASE, type Product, startProduct } from "./harness.ts";

/**
 * A recode in a publish plan is JSON: its old codes are object keys, text by
 * force, and builders write the new ones as text too (the builder page's hint
 * does). REDCap's choice codes are numbers; a recode of "3t" to "3" on a field
 * now coded 1 / 3 must store the number 3, not the text "3" the field refuses.
 */

let product: Product;
let base: StudyDefinition;
let subject = "";

beforeAll(async () => {
  product = await startProduct();
  base = await loadDefinition("forms");
  subject = await product.enrol();
  const mri = await product.save(subject, "screening", "mri", { data: { field_strength: "3t" } });
  expect(mri.status, JSON.stringify(mri.body)).toBe(200);
});
afterAll(() => product.close());

describe("a migration's recode onto numeric choice codes", () => {
  it("stores the code as the number the new field holds, and publishes without a destructive change", async () => {
    const d = structuredClone(base);
    const strength = (d.instruments.mri as any).properties.field_strength;
    strength.type = "integer";
    strength.oneOf = [
      { const: 1, title: "1.5 T" },
      { const: 3, title: "3 T" },
    ];
    const res = await product.call("POST", `${BASE}/definitions`, {
      as: "builder",
      body: {
        definition: { study: d.study, instruments: d.instruments },
        reason: "codes as in the REDCap project",
        migration: { recodes: { mri: { field_strength: { "1_5t": "1", "3t": "3" } } } },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.report.summary.destructive).toBe(0);
    const mri = await product.call("GET", product.formPath(subject, "screening", "mri"), { as: "site-01" });
    expect(mri.body.data.field_strength).toBe(3);
    // The recoded form still saves as it is: nothing in it is now refused.
    const again = await product.save(subject, "screening", "mri", {
      data: { ...mri.body.data, field_strength: 1 },
      rev: mri.body.rev,
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
  });
});
