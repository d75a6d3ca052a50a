import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { toJsonLogic } from "../../functions/engine/redcap/logic.ts";
import { BASE, type Product, startProduct } from "./harness.ts";

/**
 * Issue 14 item 5 through the API: calculations using REDCap's `today` and
 * text functions, translated from REDCap, published, and computed by the
 * server at the save — with the save's own committedAt as "today", so the
 * stored value can be explained from the audit trail.
 */

let product: Product;
beforeAll(async () => {
  product = await startProduct();
  const d: StudyDefinition = await loadDefinition("forms");
  const fields = {
    birth_date: { kind: "date" as const, form: "vital_signs" },
    initials: { kind: "text" as const, form: "vital_signs" },
  };
  const logic = (expr: string) => {
    const r = toJsonLogic(expr, fields, { form: "vital_signs", as: "value" });
    if ("error" in r) throw new Error(r.error);
    return r.logic;
  };
  const vitals = d.instruments.vital_signs as { properties: Record<string, unknown> };
  vitals.properties = {
    ...vitals.properties,
    birth_date: { type: "string", format: "date", title: "Date of birth" },
    initials: { type: "string", title: "Initials" },
    age_days: {
      type: "number",
      title: "Age (days)",
      readOnly: true,
      "x-calc": logic("datediff([birth_date], 'today', 'd', true)"),
    },
    weight_change: {
      type: "number",
      title: "Weight change since screening",
      readOnly: true,
      "x-calc": { "-": [{ var: "weight" }, { var: "$events.screening.vital_signs.weight" }] },
    },
    initials_j: {
      type: "number",
      title: "Initials start with J",
      readOnly: true,
      "x-calc": logic("if(starts_with(upper(trim([initials])), 'J'), length([initials]), 0)"),
    },
    // @CALCTEXT and @CALCDATE: a computed text and a computed date
    visit_tag: {
      type: "string",
      title: "Visit tag",
      readOnly: true,
      "x-calc": logic(
        "concat([event-name], ' #', [current-instance], ' after ', [previous-event-name], ' before ', [next-event-name])",
      ),
    },
    next_check: {
      type: "string",
      format: "date",
      title: "Next check",
      readOnly: true,
      "x-calc": toJsonLogicOrThrow("calcdate([birth_date], 2, 'M')", fields),
    },
  };
  const res = await product.call("POST", `${BASE}/definitions`, {
    as: "builder",
    body: { definition: { study: d.study, instruments: d.instruments }, reason: "richer logic" },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
});
afterAll(() => product.close());

function toJsonLogicOrThrow(expr: string, fields: Parameters<typeof toJsonLogic>[1]) {
  const r = toJsonLogic(expr, fields, { form: "vital_signs", as: "value", calcDate: true });
  if ("error" in r) throw new Error(r.error);
  return r.logic;
}

describe("a calculation using today and REDCap's text functions, saved through the API", () => {
  it("is computed by the server with the save's committedAt as today", async () => {
    const subject = await product.enrol();
    const res = await product.save(subject, "screening", "vital_signs", {
      // the client's values for calculated fields are ignored
      data: { birth_date: "2000-01-01", initials: " jd ", age_days: 1, initials_j: 99 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const today = String(res.body.committedAt).slice(0, 10);
    expect(res.body.data.age_days).toBe((Date.parse(today) - Date.parse("2000-01-01")) / 86_400_000);
    expect(res.body.data.initials_j).toBe(4);
  });

  it("reads another event's value through $events ([screening][weight] in REDCap)", async () => {
    const subject = await product.enrol();
    const screening = await product.save(subject, "screening", "vital_signs", { data: { weight: 70 } });
    expect(screening.status, JSON.stringify(screening.body)).toBe(200);
    const later = await product.save(subject, "iv_1", "vital_signs", { data: { weight: 72.5 } });
    expect(later.status, JSON.stringify(later.body)).toBe(200);
    expect(later.body.data.weight_change).toBe(2.5);
  });

  it("computes a text from the instance and the schedule, and a date from a date (@CALCTEXT, @CALCDATE)", async () => {
    const subject = await product.enrol();
    const res = await product.save(subject, "iv_1", "vital_signs", { data: { birth_date: "2000-01-31" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.visit_tag).toBe("iv_1 #1 after screening before it_1");
    expect(res.body.data.next_check).toBe("2000-03-31");
  });

  it("leaves the calculation empty while its date is", async () => {
    const subject = await product.enrol();
    const res = await product.save(subject, "screening", "vital_signs", { data: { initials: "AB" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.age_days ?? null).toBeNull();
    expect(res.body.data.initials_j).toBe(0);
  });
});
