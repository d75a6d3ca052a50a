import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Product, startProduct } from "./harness.ts";

let product: Product;
beforeAll(async () => {
  product = await startProduct();
  await product.call("POST", "/api/v1/studies/hucmsc-ms-nmo/subjects", {
    as: "site-01",
    body: { site: "site-01", arm: "rrms", subjectId: "01-007" },
  });
  await product.save("01-007", "screening", "diagnosis", {
    data: { diagnosis: "rrms", prior_dmt: ["natalizumab"] },
  });
  await product.save("01-007", "logs", "adverse_event", { data: { ae_term: "Fatigue" } }, { instance: 1 });
});
afterAll(() => product.close());

async function redcap(params: Record<string, string>, token = product.token("site-01")) {
  const res = await product.env.app.request("/api/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, ...params }).toString(),
  });
  return { status: res.status, text: await res.text() };
}

const exportCsv = async (record: string) =>
  (await redcap({ content: "record", format: "csv", type: "flat", "records[0]": record })).text;
const rowsOf = (csv: string) => parse(csv, { columns: true }) as Record<string, string>[];

describe("REDCap's record import (POST /api/, content=record with data)", () => {
  it("imports a record exported from /api/ as a new one, and exports it back the same in every cell", async () => {
    const original = await exportCsv("01-007");
    const copy = original.replaceAll("01-007", "01-100");
    const res = await redcap({ content: "record", format: "csv", type: "flat", data: copy });
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ count: 1 });
    const back = rowsOf(await exportCsv("01-100"));
    const want = rowsOf(original).map((r) => ({ ...r, record_id: "01-100" }));
    expect(back).toEqual(want);
    const history = await product.call("GET", "/api/v1/studies/hucmsc-ms-nmo/subjects/01-100/audit", {
      as: "site-01",
    });
    expect(JSON.stringify(history.body)).toContain("Imported through the API");
  });

  it("re-running the same import creates no revision: the dry run reports no change", async () => {
    const data = (await exportCsv("01-100")).toString();
    const before = await product.snapshot();
    const again = await redcap({ content: "record", format: "csv", data, returnContent: "ids" });
    expect(again.status, again.text).toBe(200);
    expect(JSON.parse(again.text)).toEqual(["01-100"]);
    expect(await product.snapshot()).toEqual(before);
    const dry = await redcap({
      content: "record",
      format: "json",
      data: JSON.stringify(rowsOf(data)),
      dryRun: "true",
    });
    expect(JSON.parse(dry.text)).toEqual({ dryRun: true, count: 1, changes: [] });
  });

  it("a dry run reports what would change and writes nothing; normal keeps blanks, overwrite erases", async () => {
    const row = {
      record_id: "01-100",
      redcap_event_name: "logs_arm_1",
      redcap_repeat_instrument: "adverse_event",
    };
    const before = await product.snapshot();
    const dry = await redcap({
      content: "record",
      format: "json",
      dryRun: "1",
      data: JSON.stringify([{ ...row, redcap_repeat_instance: "2", ae_term: "Headache" }]),
    });
    expect(JSON.parse(dry.text).changes).toEqual([
      expect.objectContaining({ record: "01-100", form: "adverse_event", instance: 2, fields: ["ae_term"] }),
    ]);
    expect(await product.snapshot()).toEqual(before);
    const blank = { ...row, redcap_repeat_instance: "1", ae_term: "" };
    await redcap({ content: "record", format: "json", data: JSON.stringify([blank]) });
    expect(await product.snapshot()).toEqual(before);
    const erased = await redcap({
      content: "record",
      format: "json",
      overwriteBehavior: "overwrite",
      dryRun: "true",
      data: JSON.stringify([blank]),
    });
    expect(JSON.parse(erased.text).changes).toEqual([expect.objectContaining({ fields: ["ae_term"] })]);
  });

  it("refuses the whole import, listing every refused value by record, event and field, and writes nothing", async () => {
    const before = await product.snapshot();
    const data = [
      "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,diagnosis,diagnosis_complete",
      "01-101,screening_arm_1,,,rrms,2",
      "01-102,screening_arm_1,,,not-a-diagnosis,7",
      "01-103,nowhere_arm_1,,,rrms,",
    ].join("\n");
    const res = await redcap({ content: "record", format: "csv", returnFormat: "json", data });
    expect(res.status).toBe(400);
    const { error } = JSON.parse(res.text) as { error: string };
    expect(error).toContain('"01-102","screening_arm_1","diagnosis","not-a-diagnosis"');
    expect(error).toContain('"01-102","screening_arm_1","diagnosis_complete","7"');
    expect(error).toContain('"01-103","nowhere_arm_1","redcap_event_name"');
    expect(await product.snapshot()).toEqual(before);
  });

  it("takes forceAutoNumber and dateFormat, and names the new records (auto_ids)", async () => {
    const res = await redcap({
      content: "record",
      format: "json",
      forceAutoNumber: "true",
      returnContent: "auto_ids",
      data: JSON.stringify([{ record_id: "x1", redcap_event_name: "screening_arm_1", diagnosis: "rrms" }]),
    });
    expect(res.status, res.text).toBe(200);
    const [pair] = JSON.parse(res.text) as string[];
    expect(pair).toMatch(/^01-\d{3},x1$/);
  });

  it("needs enter-data (and enrol for new records): a sponsor's key gets 403", async () => {
    const before = await product.snapshot();
    const data = JSON.stringify([
      { record_id: "01-104", redcap_event_name: "screening_arm_1", diagnosis: "rrms" },
    ]);
    const res = await redcap({ content: "record", format: "json", data }, product.token("sponsor"));
    expect(res.status).toBe(403);
    expect(await product.snapshot()).toEqual(before);
  });
});
