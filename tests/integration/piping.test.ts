import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { BASE, type Product, STUDY, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;

const WEIGHT_TITLE =
  "Weight of {{demographics.nickname}} ({{screening.demographics.sex}}) at {{event.label}}, subject {{subject.id}}";

beforeAll(async () => {
  product = await startProduct();
  const d: StudyDefinition = structuredClone(await loadDefinition("forms"));
  (d.instruments.demographics as any).properties.nickname = { type: "string", title: "Nickname" };
  (d.instruments.vital_signs as any).properties.weight.title = WEIGHT_TITLE;
  (d.instruments.vital_signs as any).properties.weight.description = "Heart rate {{heart_rate}} bpm";
  const res = await product.call("POST", `${BASE}/definitions`, {
    as: "builder",
    body: { definition: { study: d.study, instruments: d.instruments }, reason: "piping" },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
});
afterAll(() => product.close());

describe("piping on the form page", () => {
  it("shows another event's value, escaped, a choice as its label, and an empty value as a blank", async () => {
    const subject = await product.enrol();
    const saved = await product.save(subject, "screening", "demographics", {
      data: { nickname: "<script>alert(1)</script>", sex: "female" },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    const browser = new Browser(product);
    await browser.signIn("site-01");
    const page = await browser.request(
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/iv_1/forms/vital_signs`,
    );
    expect(page.status).toBe(200);
    expect(page.html).toContain(
      `Weight of &lt;script&gt;alert(1)&lt;/script&gt; (Female) at IV infusion 1 (day 1), subject ${subject}`,
    );
    expect(page.html).toContain("Heart rate ______ bpm");
    expect(page.html).not.toContain("<script>alert(1)");
    // The template travels with the text, so the page script pipes again as the person types.
    expect(page.html).toContain('data-pipe="Heart rate {{heart_rate}} bpm"');

    // The printed casebook pipes the same text beside the saved value.
    const vitals = await product.save(subject, "iv_1", "vital_signs", { data: { heart_rate: 72 } });
    expect(vitals.status, JSON.stringify(vitals.body)).toBe(200);
    const printed = await browser.request("GET", `/studies/${STUDY}/subjects/${subject}/casebook/print`);
    expect(printed.status).toBe(200);
    expect(printed.html).toContain(
      `Weight of &lt;script&gt;alert(1)&lt;/script&gt; (Female) at IV infusion 1 (day 1), subject ${subject}`,
    );
    expect(printed.html).not.toContain("<script>alert(1)");
  });

  it("exports keep the protocol's template, not a subject's values", async () => {
    const res = await product.env.app.request("/api/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: product.token("sponsor"),
        content: "metadata",
        format: "json",
      }).toString(),
    });
    expect(res.status).toBe(200);
    // REDCap names are unique across a project: the export may rename vital_signs' weight, so find it by its note.
    const weight = ((await res.json()) as any[]).find((f) => f.field_note === "Heart rate [heart_rate] bpm");
    expect(weight?.field_label).toBe(
      "Weight of [nickname] ([screening][sex]) at [event-label], subject [record-name]",
    );
  });

  it("forms:check (publish) refuses a pipe to a field that does not exist, with a pointer", async () => {
    const d: StudyDefinition = structuredClone(await loadDefinition("forms"));
    (d.instruments.vital_signs as any).properties.weight.title = "Weight of {{demographics.nick}}";
    const res = await product.call("POST", `${BASE}/definitions`, {
      as: "builder",
      body: { definition: { study: d.study, instruments: d.instruments }, reason: "bad pipe" },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        pointer: "/definition/instruments/vital_signs/properties/weight/title",
        message: expect.stringContaining('"demographics" has no field "nick"'),
      }),
    ]);
  });
});
