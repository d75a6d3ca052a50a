import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { type Product, startProduct } from "./harness.ts";

interface Example {
  context?: { $event: string; $arm?: string; $latest?: Record<string, Record<string, unknown>> };
  valid: Record<string, unknown>;
  invalid: { data: Record<string, unknown>; pointer: string; why: string }[];
}

const dir = path.join(import.meta.dirname, "../fixtures/examples");
const examples = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map(
    (f) =>
      [path.basename(f, ".json"), JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Example] as const,
  );

let product: Product;
let definition: StudyDefinition;
beforeAll(async () => {
  product = await startProduct();
  const current = await product.env.store.definitions.current(product.env.studyId);
  if (!current) throw new Error("no definition");
  definition = current;
});
afterAll(() => product.close());

/** The first place a form is collected: its event in the schedule, or the logs. */
function slotOf(form: string, preferred?: string): { event: string; instance?: number } {
  if (definition.study.logs.includes(form)) return { event: "logs", instance: 1 };
  const events = definition.study.events.filter((e) => e.forms.includes(form));
  const event = events.find((e) => e.id === preferred) ?? events[0];
  if (!event) throw new Error(`${form} is collected nowhere`);
  return { event: event.id, ...(event.repeatable ? { instance: 1 } : {}) };
}

describe("every instrument of the reference study", () => {
  it("has an example", () => {
    expect(examples.map(([form]) => form).sort()).toEqual(Object.keys(definition.instruments).sort());
  });

  for (const [form, example] of examples) {
    it(`${form}: accepts a complete valid example and refuses each invalid one at its field`, async () => {
      const arm = example.context?.$arm ?? "rrms";
      const subject = await product.enrol("site-01", { site: "site-01", arm });
      // What the calculations read from other forms is entered first, as a site would.
      for (const [other, values] of Object.entries(example.context?.$latest ?? {})) {
        const at = slotOf(other);
        const seeded = await product.save(
          subject,
          at.event,
          other,
          { data: values },
          { instance: at.instance },
        );
        expect(seeded.status, JSON.stringify(seeded.body)).toBe(200);
      }
      const at = slotOf(form, example.context?.$event);
      const before = await product.snapshot();
      for (const bad of example.invalid) {
        const res = await product.save(
          subject,
          at.event,
          form,
          { data: bad.data, status: "complete" },
          { instance: at.instance },
        );
        expect(res.status, `${bad.why}: ${JSON.stringify(res.body)}`).toBe(422);
        expect(
          res.body.errors.map((e: { pointer: string }) => e.pointer),
          bad.why,
        ).toContain(bad.pointer);
      }
      expect(await product.snapshot()).toEqual(before);

      const good = await product.save(
        subject,
        at.event,
        form,
        { data: example.valid, status: "complete" },
        { instance: at.instance },
      );
      expect(good.status, JSON.stringify(good.body)).toBe(200);
      expect(good.body.status).toBe("complete");
      for (const [field, value] of Object.entries(example.valid))
        expect(good.body.data[field], field).toEqual(value);
    });
  }
});
