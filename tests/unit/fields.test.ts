import { describe, expect, it } from "vitest";
import type { FieldSchema } from "../../functions/engine/definition.ts";
import { Field, type FieldView } from "../../functions/web/fields.tsx";

const render = (name: string, schema: FieldSchema, extra: Partial<FieldView> = {}) =>
  String(
    Field({ f: { name, schema, value: undefined, required: false, hidden: false, history: [], ...extra } }),
  );

describe("rendering a field from its schema", () => {
  it("ties the label to the input, and describes it by its help and error", () => {
    const html = render(
      "weight",
      { type: "number", title: "Weight", description: "Light clothes", "x-unit": "kg" },
      { error: "too high" },
    );
    expect(html).toContain('<label id="l-weight" for="f-weight">Weight');
    expect(html).toContain('aria-describedby="h-weight e-weight"');
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain('inputmode="decimal"');
    expect(html).toContain('<span class="unit">kg</span>');
  });

  it("groups radios, yes/no, true/false and check boxes in a fieldset with a legend", () => {
    expect(render("sex", { type: "string", title: "Sex", oneOf: [{ const: "f", title: "Female" }] })).toMatch(
      /<fieldset[^>]*><legend id="l-sex">Sex/,
    );
    expect(render("ok", { type: "boolean", title: "OK" })).toContain(">Yes</label>");
    expect(render("tf", { type: "boolean", title: "TF", "x-widget": "truefalse" })).toContain(
      ">True</label>",
    );
    expect(
      render("m", {
        type: "array",
        title: "M",
        items: { type: "string", oneOf: [{ const: "a", title: "A" }] },
      }),
    ).toContain('type="checkbox" name="m" value="a"');
  });

  it("uses a dropdown for long lists and enums, with the label tied to it", () => {
    const html = render("edss_total", { type: "number", title: "EDSS", enum: [0, 1, 1.5] });
    expect(html).toContain('<select id="f-edss_total"');
    expect(html).toContain('for="f-edss_total"');
  });

  it("shows descriptive text without an input, a slider as a bounded number, a calculation as output", () => {
    const text = render("intro", {
      type: "null",
      title: "Read this first",
      "x-widget": "descriptive",
    } as unknown as FieldSchema);
    expect(text).toContain("Read this first");
    expect(text).not.toContain("<input");
    expect(render("pain", { type: "integer", title: "Pain", "x-widget": "slider" } as FieldSchema)).toMatch(
      /type="number" min="0" max="100"/,
    );
    expect(
      render(
        "bmi",
        { type: "number", title: "BMI", readOnly: true, "x-calc": { "/": [1, 2] } },
        { value: 0.5 },
      ),
    ).toContain('<output id="f-bmi" data-calc="bmi"');
  });

  it("hides a field hidden by branching and marks identifiers and required fields", () => {
    const html = render(
      "dob",
      { type: "string", format: "date", title: "DOB", "x-identifier": true },
      { hidden: true, required: true },
    );
    expect(html).toMatch(/data-field="dob" hidden=""/);
    expect(html).toContain('data-identifier="true"');
    expect(html).toContain("(required to complete)");
    expect(html).toContain('type="text"');
  });

  it("dates and times are text boxes with their format written beside them, never the locale's pickers", () => {
    const date = render("dob", { type: "string", format: "date", title: "DOB" }, { value: "1988-04-17" });
    expect(date).not.toContain('type="date"');
    expect(date).toMatch(/<input[^>]*type="text"[^>]*value="1988-04-17"|value="1988-04-17"[^>]*type="text"/);
    expect(date).toContain('aria-describedby="fmt-dob e-dob"');
    expect(date).toContain("YYYY-MM-DD");
    expect(date).toMatch(/<output[^>]*data-echo-for="dob"[^>]*>= 17 April 1988<\/output>/);
    const time = render(
      "at",
      { type: "string", format: "time", title: "At", description: "24-hour clock" },
      {},
    );
    expect(time).not.toContain('type="time"');
    expect(time).toContain('aria-describedby="h-at fmt-at e-at"');
    expect(time).toContain("HH:MM");
  });
});
