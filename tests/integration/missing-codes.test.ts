import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE, type Product, startProduct } from "./harness.ts";

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

const vitals = {
  vs_date: "2010-06-14",
  systolic_bp: 118,
  diastolic_bp: 76,
  heart_rate: 72,
  weight: 58,
};
const put = (subject: string, body: Record<string, unknown>) =>
  product.call("PUT", product.formPath(subject, "screening", "vital_signs"), { as: "site-01", body });
const get = async (path: string, who = "sponsor") => {
  const res = await product.env.app.request(path, {
    headers: { authorization: `Bearer ${product.token(who)}` },
  });
  return { status: res.status, text: await res.text() };
};

describe("a missing-data code instead of a value", () => {
  let subject: string;

  it("completes a form whose required field holds a code with a reason; the revision audits it", async () => {
    subject = await product.enrol();
    const noCode = await put(subject, { data: vitals, status: "complete", rev: 0 });
    expect(noCode.status).toBe(422);
    expect(noCode.body.errors).toContainEqual(
      expect.objectContaining({ pointer: "/temperature", code: "required" }),
    );

    const saved = await put(subject, {
      data: vitals,
      status: "complete",
      rev: 0,
      missing: { temperature: { code: "UNK", reason: "Thermometer broken" } },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.missing).toEqual({ temperature: { code: "UNK", reason: "Thermometer broken" } });
    expect(saved.body.data.temperature).toBeUndefined();
    expect(saved.body.changes).toContainEqual({
      field: "temperature",
      old: null,
      new: null,
      oldCode: null,
      newCode: "UNK",
    });
  });

  it("refuses a code without a reason, an undeclared code, and a code beside a value; nothing is written", async () => {
    const other = await product.enrol();
    const before = await product.snapshot();
    const cases: [Record<string, unknown>, Record<string, unknown>, string][] = [
      [vitals, { temperature: { code: "UNK", reason: " " } }, "missing-reason"],
      [vitals, { temperature: { code: "LOST", reason: "x" } }, "missing-code"],
      [{ ...vitals, temperature: 36.6 }, { temperature: { code: "NA", reason: "x" } }, "missing-and-value"],
      [vitals, { bmi: { code: "NA", reason: "x" } }, "unknown-field"],
    ];
    for (const [data, missing, code] of cases) {
      const res = await put(other, { data, status: "incomplete", rev: 0, missing });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.errors.map((e: { code: string }) => e.code)).toContain(code);
    }
    expect(await product.snapshot()).toEqual(before);
  });

  it("replacing the code by a value is a change with a reason on a complete form", async () => {
    const unchanged = await put(subject, {
      data: vitals,
      status: "complete",
      rev: 1,
      missing: { temperature: { code: "UNK", reason: "Thermometer broken" } },
    });
    expect(unchanged.body.rev).toBe(1);
    const noReason = await put(subject, {
      data: { ...vitals, temperature: 36.9 },
      status: "complete",
      rev: 1,
    });
    expect(noReason.status).toBe(422);
    const valued = await put(subject, {
      data: { ...vitals, temperature: 36.9 },
      status: "complete",
      rev: 1,
      reason: "Reading found in the nurse's notes",
    });
    expect(valued.status, JSON.stringify(valued.body)).toBe(200);
    expect(valued.body.missing).toEqual({});
    expect(valued.body.changes).toContainEqual({
      field: "temperature",
      old: null,
      new: 36.9,
      oldCode: "UNK",
      newCode: null,
    });
    // Back to the code for the rest of the test.
    const back = await put(subject, {
      data: vitals,
      status: "complete",
      rev: 2,
      reason: "The notes were of another patient",
      missing: { temperature: { code: "ASKU", reason: "Not measured" } },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
  });

  it("exports carry the code in the field's column: flat CSV/JSON, REDCap /api/, and ODM (valid)", async () => {
    const json = JSON.parse((await get(`${BASE}/records?format=json&forms=vital_signs`)).text) as Record<
      string,
      unknown
    >[];
    const row = json.find((r) => r.record_id === subject && r.temperature !== "");
    expect(row).toMatchObject({ temperature: "ASKU", heart_rate: 72 });
    const csv = (await get(`${BASE}/records?format=csv&forms=vital_signs`)).text;
    expect(csv).toContain(",ASKU,");

    const res = await product.env.app.request("/api/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: product.token("sponsor"),
        content: "record",
        format: "json",
        type: "flat",
        records: subject,
      }).toString(),
    });
    const redcap = JSON.parse(await res.text()) as Record<string, unknown>[];
    expect(redcap.find((r) => r.temperature === "ASKU")).toBeDefined();

    const odm = await get(`${BASE}/odm?audit=true`);
    expect(odm.status).toBe(200);
    expect(odm.text).toContain('IsNull="Yes"');
    expect(odm.text).toContain('<FlagValue CodeListOID="CL.missing">ASKU</FlagValue>');
    const dir = [
      path.resolve(import.meta.dirname, "../../../shared/standards/odm-1.3.2"),
      "/work/shared/standards/odm-1.3.2",
    ].find(existsSync);
    if (!dir || spawnSync("xmllint", ["--version"]).status !== 0) return;
    const file = path.join(mkdtempSync(path.join(tmpdir(), "odm-missing-")), "study.xml");
    writeFileSync(file, odm.text);
    const r = spawnSync("xmllint", ["--noout", "--nonet", "--schema", path.join(dir, "ODM1-3-2.xsd"), file], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
  });
});
