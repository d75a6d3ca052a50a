import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { readReviewLog } from "../../functions/store/review-log.ts";
import { repairWarningQueries } from "../../functions/store/warning-queries.ts";
import { Product, STUDY } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
});
afterAll(() => product.close());

const vitals = (temperature: number) => ({
  vs_date: "2010-06-14",
  vs_time: "09:40",
  systolic_bp: 118,
  diastolic_bp: 76,
  heart_rate: 72,
  temperature,
  weight: 58,
});
const log = (subject: string) => readReviewLog(product.env.store.db, STUDY, subject);
const reviewItems = (item: Record<string, unknown>) => item.type === "review";

describe("a soft range (temperature 35–40 °C, hard 30–44 °C)", () => {
  it("42.3 °C: refused unconfirmed with the warning and nothing written; saved once confirmed, with a query opened by the saver", async () => {
    const subject = await product.enrol();
    const before = await product.snapshot();
    const refused = await product.save(subject, "screening", "vital_signs", {
      data: vitals(42.3),
      status: "complete",
    });
    expect(refused.status).toBe(422);
    expect(refused.body.type).toBe("urn:edc:problem:unconfirmed-warnings");
    expect(refused.body.warnings).toEqual([
      {
        pointer: "/temperature",
        rule: "x-soft-maximum",
        message: expect.stringContaining("42.3 °C is unusually high"),
      },
    ]);
    expect(await product.snapshot()).toEqual(before);

    const saved = await product.call("PUT", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
      body: { data: vitals(42.3), status: "complete", rev: 0, confirmWarnings: ["/temperature"] },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({
      rev: 1,
      data: { temperature: 42.3 },
      confirmedWarnings: [{ pointer: "/temperature", rule: "x-soft-maximum" }],
    });
    const entries = await log(subject);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: "query-open",
      rule: "x-soft-maximum",
      text: saved.body.confirmedWarnings[0].message,
      by: "dev-site-01",
      site: "site-01",
      target: { event: "screening", form: "vital_signs", instance: 1, field: "temperature" },
    });

    // A later save that leaves the temperature as it is asks nothing again and opens no second query.
    const again = await product.call("PUT", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
      body: { data: { ...vitals(42.3), heart_rate: 80 }, status: "complete", rev: 1, reason: "typo" },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(await log(subject)).toHaveLength(1);
  });

  it("a hard bound still refuses (45 °C), and `true` confirms every warning", async () => {
    const subject = await product.enrol();
    const hard = await product.save(subject, "screening", "vital_signs", { data: vitals(45) });
    expect(hard.status).toBe(422);
    expect(hard.body.type).toBe("urn:edc:problem:validation");
    const low = await product.call("PUT", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
      body: { data: vitals(34.1), status: "incomplete", rev: 0, confirmWarnings: true },
    });
    expect(low.status).toBe(200);
    expect((await log(subject)).map((e) => (e as { rule?: string }).rule)).toEqual(["x-soft-minimum"]);
  });

  it("confirming another field does not confirm this one", async () => {
    const subject = await product.enrol();
    const res = await product.call("PUT", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
      body: { data: vitals(41), status: "incomplete", rev: 0, confirmWarnings: ["/weight"] },
    });
    expect(res.status).toBe(422);
    expect(res.body.warnings.map((w: { pointer: string }) => w.pointer)).toEqual(["/temperature"]);
  });

  it("the crash window: a revision committed without its query is repaired, once", async () => {
    const subject = await product.enrol();
    const saved = await product.call("PUT", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
      body: { data: vitals(42.3), status: "incomplete", rev: 0, confirmWarnings: true },
    });
    expect(saved.status).toBe(200);
    // As if the process died after the commit: the query entry is gone.
    const { DeleteCommand, ScanCommand } = await import("@aws-sdk/lib-dynamodb");
    const scan = await product.env.store.db.doc.send(
      new ScanCommand({ TableName: product.env.tableName, ConsistentRead: true }),
    );
    for (const item of (scan.Items ?? []).filter((i) => reviewItems(i) && i.subject === subject)) {
      await product.env.store.db.doc.send(
        new DeleteCommand({ TableName: product.env.tableName, Key: { PK: item.PK, SK: item.SK } }),
      );
    }
    expect(await log(subject)).toHaveLength(0);
    const { db, macKey } = product.env.store;
    expect(await repairWarningQueries(db, macKey, STUDY, subject)).toHaveLength(1);
    expect(await repairWarningQueries(db, macKey, STUDY, subject)).toHaveLength(0);
    expect(await log(subject)).toHaveLength(1);
  });
});

describe("a confirmed warning and later revisions", () => {
  it("marking the instance as entered in error and restoring it opens no second query", async () => {
    const subject = await product.enrol();
    const path = product.formPath(subject, "unscheduled", "vital_signs", 1);
    const saved = await product.call("PUT", path, {
      as: "site-01",
      body: { data: vitals(42.3), status: "incomplete", rev: 0, confirmWarnings: true },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const marked = await product.call("POST", `${path}/entered-in-error`, {
      as: "site-01",
      body: { rev: 1, reason: "wrong subject" },
    });
    expect(marked.status, JSON.stringify(marked.body)).toBe(200);
    expect(marked.body.confirmedWarnings).toEqual([]);
    const restored = await product.call("POST", `${path}/restore`, {
      as: "site-01",
      body: { rev: 2, reason: "right subject after all" },
    });
    expect(restored.status).toBe(200);
    const again = await product.call("PUT", path, {
      as: "site-01",
      body: { data: { ...vitals(42.3), heart_rate: 90 }, status: "incomplete", rev: 3 },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(await log(subject)).toHaveLength(1);
  });
});

describe("the form page", () => {
  it("asks to confirm a soft-range value with a box beside the field, keeps the values, then saves and opens the query", async () => {
    const subject = await product.enrol();
    const url = `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs`;
    const b = new Browser(product);
    await b.signIn("site-01");
    const fields = { vs_date: "2010-06-14", heart_rate: "72", temperature: "42.3" };
    const first = await b.request("POST", url, {
      _csrf: b.csrf((await b.request("GET", url)).html),
      _rev: "0",
      _status: "incomplete",
      ...fields,
    });
    expect(first.status).toBe(422);
    expect(first.html).toContain("data-warnings");
    expect(first.html).toMatch(/id="w-temperature" class="warning"[^>]*>42\.3 °C is unusually high/);
    expect(first.html).toMatch(/<input type="checkbox" name="_confirm" value="\/temperature"\/>/);
    expect(first.html).toMatch(/id="f-temperature"[^>]*value="42.3"/);
    expect(await log(subject)).toHaveLength(0);

    const confirmed = await b.request("POST", url, {
      _csrf: b.csrf(first.html),
      _rev: "0",
      _status: "incomplete",
      _confirm: "/temperature",
      ...fields,
    });
    expect(confirmed.status).toBe(303);
    const entries = await log(subject);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: "query-open", rule: "x-soft-maximum", by: "dev-site-01" });
  });

  it("offers the study's missing-data codes per field and saves a code with its reason", async () => {
    const subject = await product.enrol();
    const url = `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs`;
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", url);
    expect(page.html).toMatch(/<select id="m-temperature" name="_missing.temperature">/);
    expect(page.html).toContain('<option value="ASKU">ASKU — Asked but unknown</option>');
    const noReason = await b.request("POST", url, {
      _csrf: b.csrf(page.html),
      _rev: "0",
      _status: "incomplete",
      heart_rate: "72",
      "_missing.temperature": "UNK",
    });
    expect(noReason.status).toBe(422);
    expect(noReason.html).toMatch(/id="e-temperature"[^>]*>say why the value is missing/);
    const saved = await b.request("POST", url, {
      _csrf: b.csrf(noReason.html),
      _rev: "0",
      _status: "incomplete",
      heart_rate: "72",
      "_missing.temperature": "UNK",
      "_missing_reason.temperature": "Thermometer broken",
    });
    expect(saved.status).toBe(303);
    const after = await b.request("GET", url);
    expect(after.html).toMatch(/<option value="UNK" selected="">UNK — Unknown<\/option>/);
    expect(after.html).toContain('value="Thermometer broken"');
  });
});
