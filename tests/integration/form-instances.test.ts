import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE, type Product, startProduct } from "./harness.ts";

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

describe("saving a form instance", () => {
  it("refuses an EDSS total of 0.5 with a pointer to /edss_total, then saves 3.5 as revision 1", async () => {
    const subject = await product.enrol();
    const bad = await product.save(subject, "screening", "edss", { data: { edss_total: 0.5 } });
    expect(bad.status).toBe(422);
    expect(bad.contentType).toContain("application/problem+json");
    expect(bad.body.errors).toEqual([expect.objectContaining({ pointer: "/edss_total", code: "choice" })]);

    const good = await product.save(subject, "screening", "edss", { data: { edss_total: 3.5 } });
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ rev: 1, status: "incomplete", data: { edss_total: 3.5 } });
    expect(good.body.changes).toEqual([{ field: "edss_total", old: null, new: 3.5 }]);

    const stale = await product.save(subject, "screening", "edss", { data: { edss_total: 4 }, rev: 0 });
    expect(stale.status).toBe(409);
    expect(stale.body.current).toMatchObject({ rev: 1, data: { edss_total: 3.5 } });

    const read = await product.call("GET", product.formPath(subject, "screening", "edss"), { as: "site-01" });
    expect(read.body).toMatchObject({ rev: 1, data: { edss_total: 3.5 }, definitionVersion: 1 });
  });

  it("shows AQP4-IgG only for NMOSD: a value for RRMS is refused, for NMOSD accepted", async () => {
    const subject = await product.enrol();
    const nmo = await product.enrol("site-01", { site: "site-01", arm: "nmo" });
    const rrms = await product.save(subject, "screening", "diagnosis", {
      data: { diagnosis: "rrms", aqp4_igg: "positive" },
    });
    expect(rrms.status).toBe(422);
    expect(rrms.body.errors).toEqual([
      expect.objectContaining({ pointer: "/aqp4_igg", code: "hidden-not-empty" }),
    ]);

    const nmosd = await product.save(nmo, "screening", "diagnosis", {
      data: { diagnosis: "nmosd", aqp4_igg: "positive" },
    });
    expect(nmosd.status).toBe(200);
    expect(nmosd.body.data.aqp4_igg).toBe("positive");
  });

  it("requires AQP4-IgG to complete an NMOSD diagnosis but not an RRMS one", async () => {
    const subject = await product.enrol();
    const nmo = await product.enrol("site-01", { site: "site-01", arm: "nmo" });
    const base = {
      symptom_onset_date: "2018-03-01",
      diagnosis_date: "2019-01-10",
      relapses_24m: 2,
      prior_dmt: ["none"],
    };
    const nmosd = await product.save(nmo, "screening", "diagnosis", {
      data: { ...base, diagnosis: "nmosd" },
      status: "complete",
    });
    expect(nmosd.status).toBe(422);
    expect(nmosd.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(["/aqp4_igg"]);
    const rrms = await product.save(subject, "screening", "diagnosis", {
      data: { ...base, diagnosis: "rrms" },
      status: "complete",
    });
    expect(rrms.status, JSON.stringify(rrms.body)).toBe(200);
  });

  it("computes dose per kg on the server from the latest weight, ignoring a client value", async () => {
    const subject = await product.enrol();
    expect((await product.save(subject, "iv_1", "vital_signs", { data: { weight: 80 } })).status).toBe(200);
    const saved = await product.save(subject, "iv_1", "infusion", {
      data: { route: "iv", dose_cells: 100, dose_per_kg: 999 },
    });
    expect(saved.status).toBe(200);
    expect(saved.body.data.dose_per_kg).toBe(1.25);

    // A newer weight is what the next calculation uses.
    expect((await product.save(subject, "iv_2", "vital_signs", { data: { weight: 50 } })).status).toBe(200);
    const next = await product.save(subject, "iv_2", "infusion", { data: { route: "iv", dose_cells: 100 } });
    expect(next.body.data.dose_per_kg).toBe(2);
  });

  it("keeps IT-only fields hidden and empty for IV infusions", async () => {
    const subject = await product.enrol();
    const res = await product.save(subject, "iv_1", "infusion", {
      data: { route: "iv", lumbar_puncture: true },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0]).toMatchObject({ pointer: "/lumbar_puncture", code: "hidden-not-empty" });
    const it = await product.save(subject, "it_1", "infusion", {
      data: { route: "it", lumbar_puncture: true, csf_volume_ml: 5 },
    });
    expect(it.status).toBe(200);
  });

  it("numbers repeating adverse events and keeps each instance's history apart", async () => {
    const subject = await product.enrol();
    const first = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "Headache", onset_date: "2024-02-01" } },
      { instance: 1 },
    );
    const second = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "Back pain", onset_date: "2024-02-03" } },
      { instance: 2 },
    );
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.body.instance, second.body.instance]).toEqual([1, 2]);
    expect(second.body.rev).toBe(1);
    const casebook = await product.call("GET", `${BASE}/subjects/${subject}`, { as: "site-01" });
    const aes = casebook.body.instances.filter((i: { form: string }) => i.form === "adverse_event");
    expect(aes.map((i: { instance: number }) => i.instance)).toEqual([1, 2]);
    // A one-off form has only instance 1.
    const notRepeating = await product.save(subject, "screening", "edss", { data: {} }, { instance: 2 });
    expect(notRepeating.status).toBe(404);
  });

  it("refuses an AE end date before its onset (a cross-field rule written as data)", async () => {
    const subject = await product.enrol();
    const res = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "Rash", onset_date: "2024-05-10", ongoing: false, end_date: "2024-05-01" } },
      { instance: 1 },
    );
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ pointer: "/end_date", code: expect.stringMatching(/^rule:/) }),
    ]);
  });

  it("requires SAE criteria only when the event is serious, and only to complete", async () => {
    const subject = await product.enrol();
    const draft = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { serious: true } },
      { instance: 1 },
    );
    expect(draft.status).toBe(200);
    const complete = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { serious: true }, status: "complete", rev: 1 },
      { instance: 1 },
    );
    expect(complete.status).toBe(422);
    expect(complete.body.errors.map((e: { pointer: string }) => e.pointer)).toContain("/sae_criteria");
  });

  it("asks for a reason to change a complete form and records it in the audit trail", async () => {
    const subject = await product.enrol();
    const data = { consent_date: "2024-01-05", consent_version: "2.1", consent_signed: true };
    const done = await product.save(subject, "screening", "consent", { data, status: "complete" });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const noReason = await product.save(subject, "screening", "consent", {
      data: { ...data, consent_version: "2.2" },
      status: "complete",
      rev: 1,
    });
    expect(noReason.status).toBe(422);
    expect(noReason.body.errors).toEqual([
      expect.objectContaining({ pointer: "/reason", code: "reason-required" }),
    ]);
    const withReason = await product.save(subject, "screening", "consent", {
      data: { ...data, consent_version: "2.2" },
      status: "complete",
      rev: 1,
      reason: "Transcription error: version 2.2 was signed",
    });
    expect(withReason.status).toBe(200);
    const audit = await product.call("GET", `${BASE}/subjects/${subject}/audit`, { as: "site-01" });
    const last = audit.body.entries.at(-1);
    expect(last).toMatchObject({
      action: "save",
      rev: 2,
      by: "dev-site-01",
      reason: "Transcription error: version 2.2 was signed",
      changes: [{ field: "consent_version", old: "2.1", new: "2.2" }],
    });
  });

  it("treats a save that changes nothing as a no-op with no new revision", async () => {
    const subject = await product.enrol();
    await product.save(subject, "screening", "edss", { data: { edss_total: 2 } });
    const again = await product.save(subject, "screening", "edss", { data: { edss_total: 2 }, rev: 1 });
    expect(again.status).toBe(200);
    expect(again.body.rev).toBe(1);
    const audit = await product.call("GET", `${BASE}/subjects/${subject}/audit`, { as: "site-01" });
    expect(audit.body.entries.filter((e: { action: string }) => e.action === "save")).toHaveLength(1);
  });

  it("saves a visit dated outside its window and flags it as a protocol deviation", async () => {
    const subject = await product.enrol();
    await product.save(subject, "iv_1", "infusion", { data: { infusion_date: "2024-03-01", route: "iv" } });
    // m3 is day 90 ± 14: 2024-05-29 ± 14 days; 2024-07-01 is 19 days late.
    const late = await product.save(subject, "m3", "edss", { data: { assessment_date: "2024-07-01" } });
    expect(late.status).toBe(200);
    expect(late.body.deviations).toEqual([
      expect.objectContaining({
        code: "out-of-window",
        event: "m3",
        earliest: "2024-05-15",
        latest: "2024-06-12",
        days: 19,
      }),
    ]);
    const casebook = await product.call("GET", `${BASE}/subjects/${subject}`, { as: "site-01" });
    expect(casebook.body.dayOne).toBe("2024-03-01");
    const m3 = casebook.body.instances.find((i: { event: string }) => i.event === "m3");
    expect(m3.deviations).toHaveLength(1);
    const inWindow = await product.save(subject, "m6", "edss", { data: { assessment_date: "2024-08-28" } });
    expect(inWindow.body.deviations).toEqual([]);
  });

  it("reads a form that was never saved as revision 0 with no data", async () => {
    const subject = await product.enrol();
    const res = await product.call("GET", product.formPath(subject, "m6", "mri"), { as: "site-01" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rev: 0, status: null, data: {} });
  });
});
