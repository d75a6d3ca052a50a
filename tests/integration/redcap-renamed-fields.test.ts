import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { BASE, Product } from "./harness.ts";

/**
 * REDCap's field names are unique across a project; the engine's are unique
 * per form, so a name two forms share is renamed for REDCap the way the data
 * dictionary (`content=metadata`) lists it: the reference study's vital signs
 * `weight` is `vital_signs_weight`, demographics keeps `weight`. `fields[]`
 * names REDCap's fields, so each name must bring its own column only, as
 * REDCap answers it, not every form's field of that engine name.
 */

let product: Product;
let subject: string;

beforeAll(async () => {
  product = new Product(await startDevEnvironment());
  subject = await product.enrol();
  const saves = [
    ["demographics", { initials: "AB", sex: "female", height: 160, weight: 61.5 }],
    ["vital_signs", { heart_rate: 70, weight: 62.25 }],
  ] as const;
  for (const [form, data] of saves) {
    const res = await product.save(subject, "screening", form, { data });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
});
afterAll(() => product.close());

async function exportFields(fields: string[]): Promise<Record<string, string>[]> {
  const body = new URLSearchParams({ token: product.token("sponsor"), content: "record", format: "csv" });
  body.append("records[0]", subject);
  for (const [i, f] of fields.entries()) body.append(`fields[${i}]`, f);
  const res = await product.env.app.request("/api/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: body.toString(),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return parse(text, { columns: true });
}

const valueColumns = (rows: Record<string, string>[]) =>
  Object.keys(rows[0] ?? {}).filter((c) => !c.startsWith("redcap_") && c !== "record_id");

describe("REDCap fields[] and the names the dictionary renamed", () => {
  it("the dictionary names both fields apart", async () => {
    const body = new URLSearchParams({
      token: product.token("sponsor"),
      content: "metadata",
      format: "json",
    });
    const res = await product.env.app.request("/api/", { method: "POST", body });
    const names = ((await res.json()) as { field_name: string; form_name: string }[])
      .filter((f) => f.field_name.endsWith("weight"))
      .map((f) => [f.field_name, f.form_name]);
    expect(names).toEqual([
      ["weight", "demographics"],
      ["vital_signs_weight", "vital_signs"],
    ]);
  });

  it("fields[]=vital_signs_weight answers that column alone", async () => {
    const rows = await exportFields(["vital_signs_weight"]);
    expect(valueColumns(rows)).toEqual(["vital_signs_weight"]);
    expect(rows.find((r) => r.redcap_event_name === "screening_arm_1")?.vital_signs_weight).toBe("62.25");
  });

  it("fields[]=weight answers demographics' weight alone", async () => {
    const rows = await exportFields(["weight"]);
    expect(valueColumns(rows)).toEqual(["weight"]);
    expect(rows.find((r) => r.redcap_event_name === "screening_arm_1")?.weight).toBe("61.5");
  });
});

describe("GET /records fields= and the columns the export writes", () => {
  const header = async (fields: string) => {
    const res = await product.call("GET", `${BASE}/records?format=csv&subjects=${subject}&fields=${fields}`, {
      as: "sponsor",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return String(res.body).split("\n")[0]?.split(",") ?? [];
  };

  it("takes a column name the export writes: a renamed field, a form's _complete, subject_status", async () => {
    expect(await header("vital_signs_weight")).toEqual([
      "record_id",
      "redcap_event_name",
      "redcap_repeat_instrument",
      "redcap_repeat_instance",
      "vital_signs_weight",
    ]);
    expect((await header("demographics_complete,subject_status")).slice(4)).toEqual([
      "subject_status",
      "demographics_complete",
    ]);
  });

  it("still takes an engine field id, every form's field of that id", async () => {
    expect((await header("weight")).slice(4)).toEqual(["weight", "vital_signs_weight"]);
  });

  it("still refuses a name that is no field and no column", async () => {
    const res = await product.call("GET", `${BASE}/records?fields=weigth`, { as: "sponsor" });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { pointer: "/fields", code: "unknown", message: "weigth is not one of the study's fields" },
    ]);
  });
});
