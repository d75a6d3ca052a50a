import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { BASE, type Product, STUDY, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Protocols a careless or hostile builder can publish, and what they must not
 * do to the server: a regular expression with catastrophic backtracking, JSON
 * Logic that grows without bound or nests thousands deep, ids that collide
 * with JavaScript object members. None of these tests asserts a time: an
 * engine that backtracks or loops would make them time out instead.
 */

let product: Product;
let base: StudyDefinition;

beforeAll(async () => {
  base = await loadDefinition("forms");
});

/** Each group gets its own product, so one group's protocol and data do not reach another's. */
function ownProduct() {
  beforeAll(async () => {
    product = await startProduct();
  });
  afterAll(() => product.close());
}

function changed(edit: (d: StudyDefinition) => void) {
  const d = structuredClone(base);
  edit(d);
  return { study: d.study, instruments: d.instruments };
}

const publish = (definition: unknown) =>
  product.call("POST", `${BASE}/definitions`, { as: "builder", body: { definition, reason: "test" } });

/** A protocol that passes every check: published, so saves are validated against it. */
async function published(edit: (d: StudyDefinition) => void) {
  const res = await publish(changed(edit));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.outcome).toBe("published");
}

const pointers = (body: { errors?: { pointer: string }[] }) => (body.errors ?? []).map((e) => e.pointer);

// 29 a's then a character the pattern refuses: a backtracking engine tries 2^29 ways before saying no.
const EVIL_INPUT = `${"a".repeat(29)}!`;
const EVIL_PATTERN = "^(a+)+$";

describe("builder regular expressions are evaluated in linear time", () => {
  ownProduct();
  beforeAll(() =>
    published((d) => {
      (d.instruments.vital_signs as any).properties.lab_code = {
        type: "string",
        title: "Lab code",
        pattern: EVIL_PATTERN,
      };
      d.study.subjectIdPattern = `^[0-9]{2}-[0-9]{3}$|${EVIL_PATTERN}`;
    }),
  );

  it("a save with a field pattern of nested quantifiers answers 422 for a refused value", async () => {
    const subject = await product.enrol();
    const res = await product.save(subject, "screening", "vital_signs", { data: { lab_code: EVIL_INPUT } });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.errors).toContainEqual(
      expect.objectContaining({ pointer: "/lab_code", code: "pattern" }),
    );
    const ok = await product.save(subject, "screening", "vital_signs", { data: { lab_code: "aaaa" } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });

  it("an enrolment with a subject id pattern of nested quantifiers answers 422 for a refused id", async () => {
    const before = await product.snapshot();
    const res = await product.call("POST", `${BASE}/subjects`, {
      as: "site-01",
      body: { site: "site-01", arm: "rrms", subjectId: EVIL_INPUT },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(pointers(res.body)).toContain("/subjectId");
    expect(await product.snapshot()).toEqual(before);
  });

  it("publishing a pattern the linear engine cannot run (a backreference) answers 422 with a pointer", async () => {
    const res = await publish(
      changed((d) => {
        (d.instruments.vital_signs as any).properties.lab_code = {
          type: "string",
          title: "Lab code",
          pattern: "^(a)\\1$",
        };
      }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(pointers(res.body)).toContain("/definition/instruments/vital_signs/properties/lab_code/pattern");
  });
});

/** `{"+": [{"+": [ … 1 … ]}]}`, `depth` operations deep, as JSON text (JSON.stringify itself overflows on it). */
function nestedJson(depth: number): string {
  return `${'{"+":['.repeat(depth)}1${"]}".repeat(depth)}`;
}

/** Doubles an array once per element of a 24-element list: 2^24 elements unless something stops it. */
const DOUBLING = {
  if: [
    {
      reduce: [
        { merge: Array.from({ length: 24 }, () => 1) },
        { merge: [{ var: "accumulator" }, { var: "accumulator" }] },
        [1],
      ],
    },
    1,
    0,
  ],
};

describe("JSON Logic has a budget", () => {
  ownProduct();

  it("publishing an expression nested 5,000 deep answers 422 with a pointer, not 500", async () => {
    const before = await product.snapshot();
    const definition = changed((d) => {
      (d.instruments.vital_signs as any).properties.deep = {
        type: "number",
        title: "Deep",
        readOnly: true,
        "x-calc": "DEEP",
      };
    });
    const raw = JSON.stringify({ definition, reason: "test" }).replace('"DEEP"', nestedJson(5000));
    const res = await product.call("POST", `${BASE}/definitions`, { as: "builder", raw });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(422);
    expect(res.body.errors).toContainEqual(
      expect.objectContaining({
        pointer: "/definition/instruments/vital_signs/properties/deep/x-calc",
        message: expect.stringMatching(/deep/),
      }),
    );
    expect(await product.snapshot()).toEqual(before);
  });

  describe("a calculation that passes the checks but grows without bound", () => {
    beforeAll(() =>
      published((d) => {
        (d.instruments.vital_signs as any).properties.blowup = {
          type: "number",
          title: "Blow-up",
          readOnly: true,
          "x-calc": DOUBLING,
        };
      }),
    );

    it("refuses the save with a clear 422 at the calculated field and writes nothing", async () => {
      const subject = await product.enrol();
      const before = await product.snapshot();
      const res = await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.errors).toContainEqual(
        expect.objectContaining({ pointer: "/blowup", code: "logic-budget" }),
      );
      expect(await product.snapshot()).toEqual(before);
    });

    it("still shows the form page", async () => {
      const subject = await product.enrol();
      const browser = new Browser(product);
      await browser.signIn("site-01");
      const page = await browser.request(
        "GET",
        `/studies/${STUDY}/subjects/${subject}/events/screening/forms/vital_signs`,
      );
      expect(page.status).toBe(200);
      expect(page.html).toContain("Blow-up");
    });
  });
});

describe("protocol ids that are JavaScript object members", () => {
  ownProduct();

  it("forms:check (publish) refuses an instrument and a field named constructor", async () => {
    const res = await publish(
      changed((d) => {
        const instrument = structuredClone(d.instruments.mri as any);
        instrument.$id = "constructor";
        instrument.properties.keys = { type: "string", title: "Keys" };
        (d.instruments as any).constructor = instrument;
        d.study.events[0]?.forms.push("constructor");
        (d.instruments.vital_signs as any).properties.constructor = { type: "string", title: "C" };
      }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(pointers(res.body)).toEqual(
      expect.arrayContaining([
        "/definition/instruments/constructor/$id",
        "/definition/instruments/vital_signs/properties/constructor",
      ]),
    );
  });

  it("a form instance, event or log named like an object member is a 404, not a 500", async () => {
    const subject = await product.enrol();
    for (const [event, form] of [
      ["screening", "constructor"],
      ["constructor", "vital_signs"],
      ["logs", "constructor"],
      ["logs", "__proto__"],
      ["screening", "toString"],
    ] as const) {
      const res = await product.call("GET", product.formPath(subject, event, form), { as: "site-01" });
      expect(res.status, `${event}/${form}: ${JSON.stringify(res.body)}`).toBe(404);
    }
  });

  it("__proto__ in submitted data is an unknown field (422 at /__proto__), not silently dropped", async () => {
    const subject = await product.enrol();
    const before = await product.snapshot();
    const res = await product.call("PUT", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
      raw: '{"data":{"heart_rate":70,"__proto__":{"heart_rate":1}},"status":"incomplete","rev":0}',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.errors).toContainEqual(
      expect.objectContaining({ pointer: "/__proto__", code: "unknown-field" }),
    );
    expect(await product.snapshot()).toEqual(before);
  });
});
