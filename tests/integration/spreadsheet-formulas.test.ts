import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import { BASE, type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Issue 8, item 16: downloads meant for people neutralise spreadsheet formulas
 * (a leading `'`); REDCap's API on `/api/` answers programs with REDCap's values exactly.
 */

const LABEL = '=HYPERLINK("http://evil.example","Diagnosis")';
const VALUE = '=HYPERLINK("http://evil.example","x")';

let product: Product;
beforeAll(async () => {
  product = await startProduct();
  const definition = await loadDefinition("forms");
  (definition.instruments.diagnosis as any).properties.diagnosis.title = LABEL;
  const published = await product.call("POST", `${BASE}/definitions`, {
    as: "builder",
    body: { definition: { study: definition.study, instruments: definition.instruments }, reason: "test" },
  });
  expect(published.status, JSON.stringify(published.body)).toBe(201);
  const subject = await product.enrol();
  const saved = await product.save(
    subject,
    "logs",
    "adverse_event",
    { data: { ae_term: VALUE } },
    { instance: 1 },
  );
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
});
afterAll(() => product.close());

async function redcap(params: Record<string, string>) {
  const res = await product.env.app.request("/api/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: product.token("sponsor"), ...params }).toString(),
  });
  return res.text();
}

const cells = (csv: string) => (parse(csv) as string[][]).flat();

describe("spreadsheet formulas in CSV", () => {
  it("are neutralised in the downloads of the exports page: the dictionary and the records", async () => {
    const b = new Browser(product);
    await b.signIn("builder");
    const dictionary = cells((await b.request("GET", "/studies/hucmsc-ms-nmo/exports/dictionary.csv")).html);
    expect(dictionary).toContain(`'${LABEL}`);
    expect(dictionary).not.toContain(LABEL);
    expect(dictionary.filter((c) => /^@/.test(c))).toEqual([]);
    expect(dictionary.some((c) => c.startsWith("'@X-SCHEMA="))).toBe(true);
    const records = cells(
      (await b.request("GET", "/studies/hucmsc-ms-nmo/exports/records?format=csv&forms=adverse_event")).html,
    );
    expect(records).toContain(`'${VALUE}`);
    expect(records).not.toContain(VALUE);
  });

  it("are kept exactly as REDCap gives them on /api/ (metadata and records)", async () => {
    const metadata = cells(await redcap({ content: "metadata", format: "csv" }));
    expect(metadata).toContain(LABEL);
    expect(metadata.some((c) => c.startsWith("@X-SCHEMA="))).toBe(true);
    expect(metadata.filter((c) => /^'[=+\-@]/.test(c))).toEqual([]);
    const records = cells(await redcap({ content: "record", format: "csv", "forms[0]": "adverse_event" }));
    expect(records).toContain(VALUE);
    expect(records).not.toContain(`'${VALUE}`);
  });
});
