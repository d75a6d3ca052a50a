import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { BASE, type Product, startProduct } from "./harness.ts";

let product: Product;
let base: StudyDefinition;
const subjects: string[] = [];

beforeAll(async () => {
  product = await startProduct();
  base = await loadDefinition("forms");
  // Stored data the protocol changes act on: three subjects' vital signs and MRI.
  for (const [i, hr] of [
    [0, 55],
    [1, 95],
    [2, 130],
  ] as const) {
    const s = await product.enrol();
    subjects[i] = s;
    const vs = await product.save(s, "screening", "vital_signs", {
      data: { heart_rate: hr, temperature: 36.6, systolic_bp: 120, diastolic_bp: 80, weight: 70 },
    });
    expect(vs.status).toBe(200);
  }
  const mri = await product.save(subjects[0] as string, "screening", "mri", {
    data: { field_strength: "3t", comments: "stable" },
  });
  expect(mri.status, JSON.stringify(mri.body)).toBe(200);
});
afterAll(() => product.close());

/** A deep copy of the shipped definition, changed by `edit`, as a request body. */
function changed(edit: (d: StudyDefinition) => void) {
  const d = structuredClone(base);
  edit(d);
  return { study: d.study, instruments: d.instruments };
}

const impact = (definition: unknown, plan: Record<string, unknown> = {}) =>
  product.call("POST", `${BASE}/definitions/impact`, { as: "builder", body: { definition, ...plan } });
const publish = (definition: unknown, plan: Record<string, unknown> = {}) =>
  product.call("POST", `${BASE}/definitions`, {
    as: "builder",
    body: { definition, reason: "test", ...plan },
  });

const change = (body: { report: { changes: { id: string }[] } }, id: string) =>
  body.report.changes.find((c) => c.id === id);

describe("impact analysis of a protocol change over stored data", () => {
  it("classifies a new optional field and a new instrument as safe", async () => {
    const res = await impact(
      changed((d) => {
        (d.instruments.vital_signs as any).properties.spo2 = {
          type: "integer",
          title: "SpO2",
          minimum: 50,
          maximum: 100,
          "x-unit": "%",
        };
        d.instruments.qol = {
          ...structuredClone(d.instruments.consent as any),
          $id: "qol",
          title: "Quality of life",
        };
        d.study.events[0]?.forms.push("qol");
      }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(change(res.body, "field-added:vital_signs.spo2")).toMatchObject({ severity: "safe" });
    expect(change(res.body, "instrument-added:qol")).toMatchObject({ severity: "safe" });
    expect(res.body.report.summary.destructive).toBe(0);
  });

  it("counts the stored values a narrowed range would now refuse (review)", async () => {
    const res = await impact(
      changed((d) =>
        Object.assign((d.instruments.vital_signs as any).properties.heart_rate, {
          minimum: 60,
          maximum: 100,
        }),
      ),
    );
    expect(change(res.body, "constraint-changed:vital_signs.heart_rate")).toMatchObject({
      severity: "review",
      affected: 2, // 55 and 130
    });
  });

  it("counts complete forms lacking a newly required field (review) and calls a widened range safe", async () => {
    const res = await impact(
      changed((d) => {
        const vs = d.instruments.vital_signs as any;
        vs.required = [...(vs.required ?? []), "vs_time"];
        vs.properties.temperature.maximum = 45;
      }),
    );
    expect(change(res.body, "now-required:vital_signs.vs_time")).toMatchObject({
      severity: "review",
      affected: 0,
    });
    expect(change(res.body, "constraint-changed:vital_signs.temperature")).toMatchObject({
      severity: "safe",
      kind: "constraint-widened",
    });
  });

  it("calls a removed field with data, a removed choice in use and a type change destructive", async () => {
    const res = await impact(
      changed((d) => {
        const mri = d.instruments.mri as any;
        delete mri.properties.comments;
        mri.properties.field_strength.oneOf = mri.properties.field_strength.oneOf.filter(
          (c: any) => c.const !== "3t",
        );
        (d.instruments.vital_signs as any).properties.heart_rate = {
          type: "string",
          title: "Heart rate",
          maxLength: 10,
        };
      }),
    );
    expect(change(res.body, "field-removed:mri.comments")).toMatchObject({
      severity: "destructive",
      affected: 1,
    });
    expect(change(res.body, "choice-removed:mri.field_strength")).toMatchObject({
      severity: "destructive",
      affected: 1,
    });
    expect(change(res.body, "type-changed:vital_signs.heart_rate")).toMatchObject({
      severity: "destructive",
      affected: 3,
    });
  });

  it("calls removing an instrument from a visit with data destructive, and from one without data safe", async () => {
    const res = await impact(
      changed((d) => {
        for (const e of d.study.events)
          if (e.id === "screening" || e.id === "m3") e.forms = e.forms.filter((f) => f !== "mri");
      }),
    );
    expect(change(res.body, "form-unscheduled:screening.mri")).toMatchObject({
      severity: "destructive",
      affected: 1,
    });
    expect(change(res.body, "form-unscheduled:m3.mri")).toMatchObject({ severity: "safe", affected: 0 });
  });

  it("points definition errors into the request body", async () => {
    const res = await impact(
      changed((d) => ((d.instruments.edss as any).properties.edss_total["x-visble-if"] = true)),
    );
    expect(res.status).toBe(422);
    expect(res.body.errors[0].pointer).toBe("/definition/instruments/edss/properties/edss_total/x-visble-if");
  });

  it("lets only builders analyse or publish", async () => {
    const res = await impact(
      changed(() => {}),
      {},
    );
    expect(res.status).toBe(200);
    const site = await product.call("POST", `${BASE}/definitions`, {
      as: "site-01",
      body: { definition: changed(() => {}) },
    });
    expect(site.status).toBe(403);
  });
});

describe("publishing", () => {
  it("refuses an unaccepted destructive change and writes nothing", async () => {
    const before = await product.snapshot();
    const res = await publish(changed((d) => delete (d.instruments.mri as any).properties.comments));
    expect(res.status).toBe(409);
    expect(res.contentType).toContain("application/problem+json");
    expect(res.body.unaccepted).toEqual(["field-removed:mri.comments"]);
    expect(await product.snapshot()).toEqual(before);
  });

  it("refuses an acceptance that does not name every destructive change", async () => {
    const res = await publish(
      changed((d) => {
        delete (d.instruments.mri as any).properties.comments;
        (d.instruments.vital_signs as any).properties.heart_rate = {
          type: "string",
          title: "Heart rate",
          maxLength: 10,
        };
      }),
      { accept: { reason: "amendment 2", changes: ["field-removed:mri.comments"] } },
    );
    expect(res.status).toBe(409);
    expect(res.body.unaccepted).toEqual(["type-changed:vital_signs.heart_rate"]);
  });

  it("publishes a safe change as a new version; identical content publishes nothing", async () => {
    const next = changed(
      (d) => ((d.instruments.vital_signs as any).properties.heart_rate.description = "Radial pulse, 60 s"),
    );
    const res = await publish(next);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ outcome: "published", version: 2 });
    const same = await publish(next);
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ outcome: "unchanged", version: 2 });
    base = structuredClone({ ...base, ...next, version: 2 }) as StudyDefinition;
  });

  it("publishes an accepted destructive change, keeps the data as retired, and records the acceptance", async () => {
    const res = await publish(
      changed((d) => delete (d.instruments.mri as any).properties.comments),
      { accept: { reason: "Comments retired by amendment 3", changes: ["field-removed:mri.comments"] } },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const versions = await product.call("GET", `${BASE}/definitions`, { as: "monitor" });
    expect(versions.body.versions[0]).toMatchObject({
      version: res.body.version,
      current: true,
      publishedBy: "dev-builder",
      acceptance: {
        by: "dev-builder",
        reason: "Comments retired by amendment 3",
        changes: ["field-removed:mri.comments"],
      },
    });
    // The retired value is still read back, and survives a later save of the form.
    const s = subjects[0] as string;
    const read = await product.call("GET", product.formPath(s, "screening", "mri"), { as: "site-01" });
    expect(read.body.data.comments).toBe("stable");
    const resave = await product.save(s, "screening", "mri", {
      data: { field_strength: "1_5t" },
      rev: read.body.rev,
    });
    expect(resave.status, JSON.stringify(resave.body)).toBe(200);
    expect(resave.body.data).toMatchObject({ field_strength: "1_5t", comments: "stable" });
    const edit = await product.save(s, "screening", "mri", {
      data: { field_strength: "1_5t", comments: "changed" },
      rev: resave.body.rev,
    });
    expect(edit.status).toBe(422);
    expect(edit.body.errors[0]).toMatchObject({ pointer: "/comments", code: "retired-field" });
    base = structuredClone({
      ...base,
      ...changed((d) => delete (d.instruments.mri as any).properties.comments),
    }) as StudyDefinition;
  });

  it("migrates a rename and a recode as audited revisions, losing nothing", async () => {
    const res = await publish(
      changed((d) => {
        const vs = d.instruments.vital_signs as any;
        const props = Object.entries(vs.properties).map(([k, v]) =>
          k === "heart_rate" ? ["pulse", v] : [k, v],
        );
        vs.properties = Object.fromEntries(props);
        vs.required = (vs.required ?? []).map((f: string) => (f === "heart_rate" ? "pulse" : f));
        const mri = d.instruments.mri as any;
        mri.properties.field_strength.oneOf = [
          { const: "low", title: "1.5 T" },
          { const: "high", title: "3 T" },
        ];
      }),
      {
        migration: {
          renames: { vital_signs: { heart_rate: "pulse" } },
          recodes: { mri: { field_strength: { "1_5t": "low", "3t": "high" } } },
        },
      },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.report.summary.destructive).toBe(0);
    expect(res.body.migrated).toBe(4); // three vital signs, one MRI
    for (const [i, hr] of [
      [0, 55],
      [1, 95],
      [2, 130],
    ] as const) {
      const s = subjects[i] as string;
      const vs = await product.call("GET", product.formPath(s, "screening", "vital_signs"), {
        as: "site-01",
      });
      expect(vs.body.data.pulse).toBe(hr);
      expect(vs.body.data.heart_rate).toBeUndefined();
      expect(vs.body.definitionVersion).toBe(res.body.version);
      const audit = await product.call("GET", `${BASE}/subjects/${s}/audit`, { as: "site-01" });
      const last = audit.body.entries.at(-1);
      expect(last).toMatchObject({
        by: "dev-builder",
        form: "vital_signs",
        reason: expect.stringContaining("renamed heart_rate → pulse"),
      });
      expect(last.changes).toEqual(
        expect.arrayContaining([
          { field: "heart_rate", old: hr, new: null },
          { field: "pulse", old: null, new: hr },
        ]),
      );
    }
    const mri = await product.call("GET", product.formPath(subjects[0] as string, "screening", "mri"), {
      as: "site-01",
    });
    expect(mri.body.data).toMatchObject({ field_strength: "low", comments: "stable" });
    // Old versions still read.
    const v1 = await product.call("GET", `${BASE}/definitions/1`, { as: "site-01" });
    expect(v1.body.instruments.vital_signs.properties.heart_rate).toBeDefined();
  });
});
