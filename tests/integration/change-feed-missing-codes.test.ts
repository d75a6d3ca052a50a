import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { BASE, Product } from "./harness.ts";

/**
 * A change-feed revision carries the form's whole state (`data`), so a
 * pipeline upserts the latest one per form instance. A field holding a
 * missing-data code is part of that state: the flat export says `UNK` for
 * it, so the feed's latest revision must say so too, also when that revision
 * changed another field and left the code as it was.
 */

let product: Product;
let subject: string;

beforeAll(async () => {
  // Settled at once, so the change feed delivers what was just saved.
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  subject = await product.enrol();
  const demographics = { initials: "QZY", date_of_birth: "1967-08-19", sex: "female", height: 160 };
  const missing = { weight: { code: "UNK", reason: "Scale broken" } };
  const first = await product.save(subject, "screening", "demographics", {
    data: demographics,
    status: "complete",
    missing,
  } as never);
  expect(first.status, JSON.stringify(first.body)).toBe(200);
  const second = await product.save(subject, "screening", "demographics", {
    data: { ...demographics, height: 161 },
    status: "complete",
    rev: 1,
    reason: "Remeasured",
    missing,
  } as never);
  expect(second.status, JSON.stringify(second.body)).toBe(200);
});
afterAll(() => product.close());

const pull = async (query = "") => {
  const res = await product.call("GET", `${BASE}/changes?limit=100${query}`, { as: "sponsor" });
  expect(res.status).toBe(200);
  return (res.body.changes as Record<string, unknown>[]).filter((c) => c.form === "demographics");
};

describe("the change feed and missing-data codes", () => {
  it("carries each revision's codes beside its data, as a form read does", async () => {
    const revisions = await pull();
    expect(revisions.map((r) => r.rev)).toEqual([1, 2]);
    for (const r of revisions) expect(r.missing).toEqual({ weight: { code: "UNK", reason: "Scale broken" } });
    // The same state the flat export gives the form: weight is UNK there.
    const csv = await product.call("GET", `${BASE}/records?format=json&forms=demographics`, {
      as: "sponsor",
    });
    expect(csv.body[0]).toMatchObject({ height: 161, weight: "UNK" });
  });

  it("keeps the code and leaves its reason out when de-identified", async () => {
    const revisions = await pull("&deidentify=true");
    for (const r of revisions) expect(r.missing).toEqual({ weight: { code: "UNK" } });
  });
});
