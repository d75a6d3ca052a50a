import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Issue 9 item 5: a saved form shows and keeps the values it holds. A
 * calculation reading `$latest` (dose per kg from the latest weight) is not
 * recomputed silently when a later visit records a new weight: not on display,
 * not as a side effect of saving another field. The page says what the
 * calculation would give now, and only an explicit recalculation (audited, with
 * a reason on a complete form) stores it.
 */

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

const study = "/studies/hucmsc-ms-nmo";
const INFUSION = {
  infusion_date: "2026-01-05",
  route: "iv",
  dose_cells: 100,
  cell_viability: 95,
  premedication: ["none"],
  start_time: "09:00",
  stop_time: "10:00",
  infusion_reaction: false,
};

/** An infusion saved complete at 101 kg (0.99 ×10^6 cells/kg), then an unscheduled visit weighing 99 kg. */
async function infusedThenReweighed(): Promise<string> {
  const subject = await product.enrol();
  expect((await product.save(subject, "iv_1", "vital_signs", { data: { weight: 101 } })).status).toBe(200);
  const infusion = await product.save(subject, "iv_1", "infusion", { data: INFUSION, status: "complete" });
  expect(infusion.status, JSON.stringify(infusion.body)).toBe(200);
  expect(infusion.body.data.dose_per_kg).toBe(0.99);
  const later = await product.save(
    subject,
    "unscheduled",
    "vital_signs",
    { data: { weight: 99 } },
    { instance: 1 },
  );
  expect(later.status).toBe(200);
  return subject;
}

describe("a stored calculation after its $latest input changed", () => {
  it("keeps the stored dose per kg when another field of the complete form is changed", async () => {
    const subject = await infusedThenReweighed();
    const res = await product.save(subject, "iv_1", "infusion", {
      data: { ...INFUSION, cell_viability: 96 },
      status: "complete",
      rev: 1,
      reason: "Viability corrected from the release certificate",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.dose_per_kg).toBe(0.99);
    expect(res.body.changes).toEqual([{ field: "cell_viability", old: 95, new: 96 }]);
  });

  it("makes no revision for an unchanged re-save of an incomplete form", async () => {
    const subject = await product.enrol();
    await product.save(subject, "iv_1", "vital_signs", { data: { weight: 101 } });
    await product.save(subject, "iv_1", "infusion", { data: { route: "iv", dose_cells: 100 } });
    await product.save(subject, "unscheduled", "vital_signs", { data: { weight: 99 } }, { instance: 1 });
    const again = await product.save(subject, "iv_1", "infusion", {
      data: { route: "iv", dose_cells: 100 },
      rev: 1,
    });
    expect(again.status).toBe(200);
    expect(again.body.rev).toBe(1);
    expect(again.body.data.dose_per_kg).toBe(0.99);
  });

  it("stores the new value only on an explicit recalculation, audited old → new, with a reason", async () => {
    const subject = await infusedThenReweighed();
    const before = await product.snapshot();
    const noReason = await product.save(subject, "iv_1", "infusion", {
      data: INFUSION,
      status: "complete",
      rev: 1,
      recalculate: ["dose_per_kg"],
    } as never);
    expect(noReason.status).toBe(422);
    expect(noReason.body.errors[0].pointer).toBe("/reason");
    expect(await product.snapshot()).toEqual(before);

    const res = await product.save(subject, "iv_1", "infusion", {
      data: INFUSION,
      status: "complete",
      rev: 1,
      reason: "Dose per kg from the weight at the unscheduled visit",
      recalculate: ["dose_per_kg"],
    } as never);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.changes).toEqual([{ field: "dose_per_kg", old: 0.99, new: 1.01 }]);
  });

  it("refuses a recalculation of a field that is not calculated, at its pointer, writing nothing", async () => {
    const subject = await infusedThenReweighed();
    const before = await product.snapshot();
    const res = await product.save(subject, "iv_1", "infusion", {
      data: INFUSION,
      status: "complete",
      rev: 1,
      reason: "x",
      recalculate: ["dose_cells"],
    } as never);
    expect(res.status).toBe(422);
    expect(res.contentType).toContain("application/problem+json");
    expect(res.body.errors).toEqual([
      expect.objectContaining({ pointer: "/dose_cells", code: "not-calculated" }),
    ]);
    expect(await product.snapshot()).toEqual(before);
  });

  it("recomputes with current data when an input of the calculation itself changes", async () => {
    const subject = await infusedThenReweighed();
    const res = await product.save(subject, "iv_1", "infusion", {
      data: { ...INFUSION, dose_cells: 198 },
      status: "complete",
      rev: 1,
      reason: "Dose transcribed wrongly",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.changes).toEqual([
      { field: "dose_cells", old: 100, new: 198 },
      { field: "dose_per_kg", old: 0.99, new: 2 },
    ]);
  });
});

describe("the form page of a stored calculation", () => {
  it("shows the stored value and says what current data would give, beside the field", async () => {
    const subject = await infusedThenReweighed();
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", `${study}/subjects/${subject}/events/iv_1/forms/infusion`);
    expect(page.status).toBe(200);
    const output = /<output[^>]*data-calc="dose_per_kg"[^>]*>([^<]*)<\/output>/.exec(page.html);
    expect(output?.[1]).toBe("0.99");
    const notice = /<p[^>]*data-calc-drift="dose_per_kg"[^>]*>([\s\S]*?)<\/p>/.exec(page.html);
    expect(notice?.[1]?.replace(/<[^>]+>/g, "")).toContain(
      "Stored 0.99 ×10^6 cells/kg; with current data it would be 1.01 ×10^6 cells/kg.",
    );
    expect(page.html).toContain('name="_recalculate" value="dose_per_kg"');
  });

  it("keeps the stored value on a plain re-post and stores the new one when recalculation is ticked", async () => {
    const subject = await infusedThenReweighed();
    const b = new Browser(product);
    await b.signIn("site-01");
    const url = `${study}/subjects/${subject}/events/iv_1/forms/infusion`;
    const page = await b.request("GET", url);
    const form = {
      _csrf: b.csrf(page.html),
      _rev: "1",
      _status: "complete",
      infusion_date: "2026-01-05",
      route: "iv",
      dose_cells: "100",
      cell_viability: "95",
      premedication: "none",
      start_time: "09:00",
      stop_time: "10:00",
      infusion_reaction: "false",
    };
    const plain = await b.request("POST", url, form);
    expect(plain.status).toBe(303);
    expect(plain.location).toContain("?unchanged");

    const ticked = await b.request("POST", url, {
      ...form,
      _recalculate: "dose_per_kg",
      _reason: "Use the weight of the unscheduled visit",
    });
    expect(ticked.status).toBe(303);
    const state = await product.call("GET", product.formPath(subject, "iv_1", "infusion"), { as: "monitor" });
    expect(state.body.rev).toBe(2);
    expect(state.body.data.dose_per_kg).toBe(1.01);
  });
});
