import { describe, expect, it } from "vitest";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import type { ReviewEntry } from "../../functions/engine/review.ts";
import {
  fieldMarks,
  type InstanceNow,
  instanceSdv,
  requiredFields,
  statusOf,
  subjectProgress,
  verificationCovers,
} from "../../functions/engine/sdv.ts";
import { adverseEvent, instrument, labs, smallDefinition, smallStudy, visit } from "./small-study.ts";

const withCalc = instrument("visit", {
  ...visit.properties,
  note: { type: "null", title: "Read the source first", "x-widget": "descriptive" },
  bmi: { type: "number", title: "BMI", "x-calc": { "*": [{ var: "weight" }, 1] } },
});
withCalc.properties.weight = { ...withCalc.properties.weight, "x-sdv-critical": true };

function definition(sdv?: StudyDefinition["study"]["sdv"]): StudyDefinition {
  return smallDefinition(
    1,
    { visit: withCalc, labs, adverse_event: adverseEvent },
    smallStudy(sdv ? { sdv } : {}),
  );
}

const baseline = (rev: number, data: Record<string, unknown>): InstanceNow => ({
  event: "baseline",
  form: "visit",
  instance: 1,
  rev,
  data,
});

let seq = 0;
function verifyEntry(
  def: StudyDefinition,
  instances: InstanceNow[],
  target = {},
  by = "monitor",
): ReviewEntry {
  seq += 1;
  return {
    study: "small",
    subject: "S1-001",
    site: "s1",
    seq,
    at: "2026-02-01T00:00:00.000Z",
    by,
    action: "verify",
    covers: verificationCovers(def, instances, { event: "baseline", ...target }),
    target: { event: "baseline", ...target },
    previousHash: "",
    hash: "",
    mac: "",
  };
}

describe("what the study requires verified", () => {
  it("all verifiable fields by default; never a display-only or calculated field", () => {
    expect(requiredFields(definition(), "visit")).toEqual([
      "visit_date",
      "initials",
      "weight",
      "smoker",
      "symptoms",
      "consented",
    ]);
  });
  it("critical fields only, or none, per form", () => {
    const def = definition({ default: "critical", forms: { labs: "none", adverse_event: "all" } });
    expect(requiredFields(def, "visit")).toEqual(["weight"]);
    expect(requiredFields(def, "labs")).toEqual([]);
    expect(requiredFields(def, "adverse_event")).toEqual(["ae_term", "onset"]);
  });
});

describe("marks folded from the current state alone", () => {
  const def = definition({ default: "critical", forms: { labs: "all" } });

  it("a field to verify, verified, then changed: needs re-verification, naming the revision that changed it", () => {
    const v1 = baseline(1, { weight: 70, smoker: "never" });
    expect(subjectProgress(def, [v1], [])).toEqual({ required: 1, verified: 0, reverify: 0 });
    const log = [verifyEntry(def, [v1])];
    expect(subjectProgress(def, [v1], log)).toEqual({ required: 1, verified: 1, reverify: 0 });

    const v3 = baseline(3, { weight: 72, smoker: "never" });
    const revisions = [
      { rev: 2, committedAt: "t2", committedBy: "a", changes: [{ field: "smoker" }] },
      { rev: 3, committedAt: "t3", committedBy: "b", changes: [{ field: "weight" }] },
    ];
    const weight = instanceSdv(def, v3, fieldMarks(log), revisions).find((f) => f.field === "weight");
    expect(weight).toMatchObject({
      status: "needs-reverification",
      mark: { by: "monitor", rev: 1 },
      changedBy: { rev: 3, by: "b", at: "t3" },
    });
    expect(statusOf(subjectProgress(def, [v3], log))).toBe("needs-reverification");
    // A later save that left the value as verified keeps the mark: the value still matches the source.
    expect(subjectProgress(def, [baseline(4, { weight: 70, smoker: "current" })], log).verified).toBe(1);
  });

  it("a field-level verification vouches for that field only", () => {
    const labsNow: InstanceNow = {
      event: "baseline",
      form: "labs",
      instance: 1,
      rev: 1,
      data: { hb: 13, sampled_at: "2026-01-01T10:00" },
    };
    const log = [verifyEntry(def, [labsNow], { form: "labs", instance: 1, field: "hb" })];
    expect(log[0]?.action === "verify" && log[0].covers[0]?.fields).toEqual(["hb"]);
    expect(subjectProgress(def, [labsNow], log)).toEqual({ required: 2, verified: 1, reverify: 0 });
    expect(statusOf(subjectProgress(def, [labsNow], log))).toBe("to-verify");
  });

  it("an empty field never verified, or verified empty, is not counted; an instance entered in error needs nothing", () => {
    expect(subjectProgress(def, [baseline(1, {})], []).required).toBe(0);
    const empty = baseline(1, {});
    expect(subjectProgress(def, [empty], [verifyEntry(def, [empty])]).required).toBe(0);
    // Filled in after the form was verified empty: the new value needs verifying.
    expect(subjectProgress(def, [baseline(2, { weight: 70 })], [verifyEntry(def, [empty])]).reverify).toBe(1);
    expect(
      subjectProgress(def, [{ ...baseline(1, { weight: 70 }), enteredInError: true }], []).required,
    ).toBe(0);
  });

  it("a visit's verification covers every saved instance in it and no other visit", () => {
    const v = baseline(1, { weight: 70 });
    const later: InstanceNow = {
      event: "unscheduled",
      form: "visit",
      instance: 1,
      rev: 1,
      data: { weight: 71 },
    };
    const covers = verificationCovers(def, [v, later], { event: "baseline" });
    expect(covers.map((c) => c.event)).toEqual(["baseline"]);
    expect(covers[0]?.fields).toContain("weight");
    expect(covers[0]?.fields).not.toContain("bmi");
    expect(subjectProgress(def, [v, later], [verifyEntry(def, [v, later])], { event: "baseline" })).toEqual({
      required: 1,
      verified: 1,
      reverify: 0,
    });
    expect(subjectProgress(def, [v, later], [verifyEntry(def, [v, later])]).required).toBe(2);
  });

  it("a mark without value hashes (written another way) holds while the revision is the same", () => {
    const v = baseline(2, { weight: 70 });
    const old: ReviewEntry = {
      ...verifyEntry(def, [v]),
      covers: [{ event: "baseline", form: "visit", instance: 1, rev: 2, fields: ["weight"] }],
    } as ReviewEntry;
    expect(subjectProgress(def, [v], [old]).verified).toBe(1);
    expect(subjectProgress(def, [baseline(3, { weight: 70 })], [old]).reverify).toBe(1);
  });
});
