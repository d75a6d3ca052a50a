import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { Product, withStudyVariant } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Issue 14 item 3: REDCap's action tags as engine annotations, through the
 * API and the form page. The reference study with a few tags added: a
 * "none" premedication that excludes the others, a visit date that opens as
 * today, a temperature the page does not show, a heart rate it shows read-only.
 */

function taggedForms(): string {
  return withStudyVariant((edit) => {
    edit("infusion", (p) => {
      (p.premedication as Record<string, unknown>)["x-none-of-the-above"] = ["none"];
    });
    edit("vital_signs", (p) => {
      (p.vs_date as Record<string, unknown>)["x-default"] = "today";
      (p.temperature as Record<string, unknown>)["x-hidden"] = true;
      (p.heart_rate as Record<string, unknown>)["x-readonly"] = true;
      (p.weight as Record<string, unknown>)["x-set-value"] = 70;
    });
  });
}

let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ formsDir: taggedForms() }));
});
afterAll(() => product.close());

const study = "/studies/hucmsc-ms-nmo";
const today = () => new Date().toISOString().slice(0, 10);
const inputValue = (html: string, name: string) =>
  new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html)?.[1] ??
  new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`).exec(html)?.[1];
const fieldDiv = (html: string, name: string) =>
  new RegExp(`<div[^>]*data-field="${name}"[^>]*>`).exec(html)?.[0];

describe("@NONEOFTHEABOVE: x-none-of-the-above", () => {
  it("refuses 'none' with another premedication (422 at the field), nothing written; 'none' alone saves", async () => {
    const subject = await product.enrol();
    const before = await product.snapshot();
    const refused = await product.save(subject, "iv_1", "infusion", {
      data: { premedication: ["none", "paracetamol"] },
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.errors).toContainEqual(
      expect.objectContaining({ pointer: "/premedication", code: "none-of-the-above" }),
    );
    expect(await product.snapshot()).toEqual(before);
    const saved = await product.save(subject, "iv_1", "infusion", { data: { premedication: ["none"] } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  });
});

describe("defaults, hidden and read-only fields on the form page", () => {
  it("opens a new instance with the defaults; an API save gets none of them", async () => {
    const subject = await product.enrol();
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", `${study}/subjects/${subject}/events/screening/forms/vital_signs`);
    expect(page.status).toBe(200);
    expect(inputValue(page.html, "vs_date")).toBe(today());
    expect(inputValue(page.html, "weight")).toBe("70");

    const api = await product.save(subject, "screening", "vital_signs", { data: { systolic_bp: 120 } });
    expect(api.status, JSON.stringify(api.body)).toBe(200);
    expect(api.body.data).toEqual({ systolic_bp: 120 });
  });

  it("never writes a default over a saved value; @SETVALUE fills a saved but empty field", async () => {
    const subject = await product.enrol();
    const saved = await product.save(subject, "screening", "vital_signs", { data: { systolic_bp: 120 } });
    expect(saved.status).toBe(200);
    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", `${study}/subjects/${subject}/events/screening/forms/vital_signs`);
    // The saved instance has no date: x-default is for new instances only, x-set-value fills the empty weight.
    expect(inputValue(page.html, "vs_date") ?? "").toBe("");
    expect(inputValue(page.html, "weight")).toBe("70");

    const again = await product.save(subject, "screening", "vital_signs", {
      data: { systolic_bp: 120, weight: 64 },
      rev: 1,
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    const reopened = await b.request(
      "GET",
      `${study}/subjects/${subject}/events/screening/forms/vital_signs`,
    );
    expect(inputValue(reopened.html, "weight")).toBe("64");
  });

  it("keeps a hidden field's value out of sight and a read-only field's value unchanged through a page save", async () => {
    const subject = await product.enrol();
    // REDCap lets an import set a @READONLY field: so does the API.
    const saved = await product.save(subject, "screening", "vital_signs", {
      data: { temperature: 36.6, heart_rate: 72 },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const b = new Browser(product);
    await b.signIn("site-01");
    const url = `${study}/subjects/${subject}/events/screening/forms/vital_signs`;
    const page = await b.request("GET", url);
    expect(fieldDiv(page.html, "temperature")).toMatch(/\shidden/);
    expect(fieldDiv(page.html, "temperature")).toContain('data-always-hidden="true"');
    expect(inputValue(page.html, "temperature")).toBe("36.6");
    expect(page.html).toMatch(/<output[^>]*data-readonly="heart_rate"[^>]*>72<\/output>/);
    expect(page.html).toMatch(/<input type="hidden" name="heart_rate" value="72"/);

    const post = await b.request("POST", url, {
      _csrf: b.csrf(page.html),
      _rev: "1",
      _status: "incomplete",
      temperature: "36.6",
      heart_rate: "72",
      weight: "66",
    });
    expect(post.status).toBe(303);
    const instance = await product.call("GET", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
    });
    expect(instance.body.data).toMatchObject({ temperature: 36.6, heart_rate: 72, weight: 66 });
  });
});
