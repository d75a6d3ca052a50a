import { describe, expect, it } from "vitest";
import {
  analyseImpact,
  CHANGE_KINDS,
  type Change,
  destructiveWithData,
  formatImpact,
  type StoredInstance,
} from "../../functions/engine/impact.ts";
import { instrument, labs, smallDefinition, smallStudy, visit } from "./small-study.ts";

const stored = (data: StoredInstance["data"], more: Partial<StoredInstance> = {}): StoredInstance => ({
  subject: "S1-001",
  arm: "a",
  event: "baseline",
  form: "visit",
  instance: 1,
  status: "complete",
  data,
  ...more,
});

const byId = (changes: Change[], id: string) => changes.find((c) => c.id === id);

describe("analyseImpact", () => {
  it("reports a first version as one safe change", () => {
    const report = analyseImpact(undefined, smallDefinition(), []);
    expect(report).toEqual({
      fromVersion: null,
      changes: [
        { id: "first-version", severity: "safe", kind: "first-version", message: "First published version." },
      ],
      summary: { safe: 1, review: 0, destructive: 0 },
    });
  });

  it("finds nothing between a definition and itself", () => {
    const report = analyseImpact(smallDefinition(1), smallDefinition(2), [stored({ weight: 70 })]);
    expect(report.changes).toEqual([]);
    expect(report.fromVersion).toBe(1);
  });

  it("makes a removed field destructive only when a stored value would be orphaned", () => {
    const { initials: _gone, ...rest } = visit.properties;
    const next = smallDefinition(2, { visit: { ...visit, properties: rest }, labs });
    const without = analyseImpact(smallDefinition(1), next, []);
    expect(byId(without.changes, "field-removed:visit.initials")).toMatchObject({
      severity: "safe",
      affected: 0,
    });
    const withData = analyseImpact(smallDefinition(1), next, [stored({ initials: "AB" }), stored({})]);
    expect(byId(withData.changes, "field-removed:visit.initials")).toMatchObject({
      severity: "destructive",
      kind: "field-removed",
      instrument: "visit",
      field: "initials",
      affected: 1,
    });
  });

  it("counts stored values that use a removed choice code", () => {
    const smoker = { ...visit.properties.smoker, oneOf: visit.properties.smoker?.oneOf?.slice(0, 2) };
    const next = smallDefinition(2, {
      ...smallDefinition().instruments,
      visit: instrument("visit", { ...visit.properties, smoker }),
    });
    const report = analyseImpact(smallDefinition(1), next, [
      stored({ smoker: "current" }),
      stored({ smoker: "never" }, { instance: 2, event: "unscheduled" }),
    ]);
    expect(byId(report.changes, "choice-removed:visit.smoker")).toMatchObject({
      severity: "destructive",
      affected: 1,
    });
  });

  it("names a narrowed constraint by the same id as a widened one, with its own kind and severity", () => {
    const with_ = (minimum: number) =>
      smallDefinition(2, {
        ...smallDefinition().instruments,
        visit: instrument("visit", { ...visit.properties, weight: { ...visit.properties.weight, minimum } }),
      });
    const data = [stored({ weight: 25 })];
    const narrowed = byId(
      analyseImpact(smallDefinition(1), with_(30), data).changes,
      "constraint-changed:visit.weight",
    );
    expect(narrowed).toMatchObject({ kind: "constraint-narrowed", severity: "review", affected: 1 });
    const widened = byId(
      analyseImpact(smallDefinition(1), with_(10), data).changes,
      "constraint-changed:visit.weight",
    );
    expect(widened).toMatchObject({ kind: "constraint-widened", severity: "safe", affected: 0 });
  });

  it("counts stored dates a narrowed date range (x-date-min / x-date-max, REDCap's date min/max) would refuse", () => {
    const withRange = (range: { "x-date-min"?: string; "x-date-max"?: string }) =>
      smallDefinition(2, {
        ...smallDefinition().instruments,
        visit: instrument("visit", {
          ...visit.properties,
          visit_date: { ...visit.properties.visit_date, ...range },
        }),
      });
    const data = [
      stored({ visit_date: "2024-03-01" }),
      stored({ visit_date: "2025-06-01" }, { instance: 2 }),
    ];
    const narrowed = byId(
      analyseImpact(smallDefinition(1), withRange({ "x-date-min": "2025-01-01" }), data).changes,
      "constraint-changed:visit.visit_date",
    );
    expect(narrowed).toMatchObject({ kind: "constraint-narrowed", severity: "review", affected: 1 });
    const before = withRange({ "x-date-min": "2020-01-01", "x-date-max": "2025-12-31" });
    const widened = byId(
      analyseImpact(before, withRange({ "x-date-min": "2019-01-01" }), data).changes,
      "constraint-changed:visit.visit_date",
    );
    expect(widened).toMatchObject({ kind: "constraint-widened", severity: "safe", affected: 0 });
  });

  it("counts stored values a changed soft range (x-soft-minimum / x-soft-maximum, REDCap's number min/max) puts outside it", () => {
    const withSoft = (range: { "x-soft-minimum"?: number; "x-soft-maximum"?: number }) =>
      smallDefinition(2, {
        ...smallDefinition().instruments,
        labs: instrument("labs", { ...labs.properties, hb: { ...labs.properties.hb, ...range } }),
      });
    const data = [
      stored({ hb: 9.5 }, { form: "labs" }),
      stored({ hb: 14 }, { form: "labs", instance: 2 }),
      stored({ hb: 17 }, { form: "labs", instance: 3 }),
    ];
    const narrowed = byId(
      analyseImpact(
        withSoft({ "x-soft-minimum": 5 }),
        withSoft({ "x-soft-minimum": 10, "x-soft-maximum": 16 }),
        data,
      ).changes,
      "soft-range-changed:labs.hb",
    );
    expect(narrowed).toMatchObject({ kind: "soft-range-narrowed", severity: "review", affected: 2 });
    expect(narrowed?.message).toContain("2 stored value(s) now outside it");
    const widened = byId(
      analyseImpact(withSoft({ "x-soft-minimum": 10 }), withSoft({ "x-soft-minimum": 5 }), data).changes,
      "soft-range-changed:labs.hb",
    );
    expect(widened).toMatchObject({ kind: "soft-range-widened", severity: "safe", affected: 0 });
  });

  it("counts the stored calculated values a changed calculation would compute differently, empty ones too", () => {
    const third = { "/": [{ var: "weight" }, 3] };
    const withCalc = (calc: object) =>
      smallDefinition(2, {
        ...smallDefinition().instruments,
        visit: instrument("visit", {
          ...visit.properties,
          weight_third: { type: "number", title: "Weight / 3", readOnly: true, "x-calc": calc },
        }),
      });
    // Before: computed only once consented; after: always. Rounded to whole numbers before and after.
    const before = withCalc({ if: [{ var: "consented" }, { round: [third, 0] }, null] });
    const after = withCalc({ round: [third, 0] });
    const data = [
      stored({ weight: 30, consented: true, weight_third: 10 }),
      stored({ weight: 31 }, { instance: 2 }),
      stored({ weight: 60, consented: false }, { instance: 3 }),
    ];
    const changed = byId(
      analyseImpact(before, after, data).changes,
      "calculation-changed:visit.weight_third",
    );
    // 10 stays 10; the two empty ones would now hold 10 and 20.
    expect(changed).toMatchObject({ kind: "calculation-changed", severity: "review", affected: 2 });
    expect(changed?.message).toContain("2 stored value(s) would be computed differently");
  });

  it("counts as affected by a type change only the stored values the new type refuses (REDCap integer → number)", () => {
    const hbOf = (type: "integer" | "number") =>
      smallDefinition(2, {
        ...smallDefinition().instruments,
        labs: instrument("labs", { ...labs.properties, hb: { ...labs.properties.hb, type } }),
      });
    const whole = [stored({ hb: 14 }, { form: "labs" }), stored({ hb: 12 }, { form: "labs", instance: 2 })];
    const widened = byId(
      analyseImpact(hbOf("integer"), hbOf("number"), whole).changes,
      "type-changed:labs.hb",
    );
    expect(widened).toMatchObject({ kind: "type-changed", severity: "review", affected: 0 });
    const halves = [...whole, stored({ hb: 13.5 }, { form: "labs", instance: 3 })];
    const narrowed = byId(
      analyseImpact(hbOf("number"), hbOf("integer"), halves).changes,
      "type-changed:labs.hb",
    );
    expect(narrowed).toMatchObject({ kind: "type-changed", severity: "destructive", affected: 1 });
    expect(narrowed?.message).toContain("1 stored value(s) of 3 the new type refuses");
  });

  it("counts a value a migration recoded to a code the field does not have as using a removed code", () => {
    const smoker = {
      ...visit.properties.smoker,
      oneOf: [
        { const: "never", title: "Never" },
        { const: "smoker", title: "Smoker" },
      ],
    };
    const next = smallDefinition(2, {
      ...smallDefinition().instruments,
      visit: instrument("visit", { ...visit.properties, smoker }),
    });
    // Stored data after a migration whose recode had a typo: "current" → "smoekr".
    const report = analyseImpact(smallDefinition(1), next, [
      stored({ smoker: "smoekr" }),
      stored({ smoker: "never" }, { instance: 2 }),
    ]);
    expect(byId(report.changes, "choice-removed:visit.smoker")).toMatchObject({
      severity: "destructive",
      affected: 1,
    });
  });

  it("does not count a complete instance whose field holds a missing-data code as lacking a now required field", () => {
    const study = smallStudy({ missingCodes: [{ code: "UNK", label: "Unknown" }] });
    const before = smallDefinition(1, smallDefinition().instruments, study);
    const next = smallDefinition(
      2,
      { ...before.instruments, visit: { ...visit, required: ["weight"] } },
      study,
    );
    const report = analyseImpact(before, next, [
      stored({}, { missing: { weight: { code: "UNK", reason: "scale broken" } } }),
      stored({}, { instance: 2 }),
      stored({ weight: 70 }, { instance: 3 }),
    ]);
    expect(byId(report.changes, "now-required:visit.weight")).toMatchObject({
      severity: "review",
      affected: 1,
    });
  });

  it("counts stored files a narrowed file field (x-file media types or size) would refuse", () => {
    const withFile = (xFile: { mediaTypes?: string[]; maxBytes?: number }) =>
      smallDefinition(2, {
        ...smallDefinition().instruments,
        labs: instrument("labs", {
          ...labs.properties,
          report: { type: "object", title: "Lab report", "x-file": xFile },
        }),
      });
    const file = (name: string, mediaType: string, size: number) => ({
      sha256: "a".repeat(64),
      size,
      name,
      mediaType,
    });
    const data = [
      stored({ report: file("scan.jpg", "image/jpeg", 2000) }, { form: "labs" }),
      stored({ report: file("report.pdf", "application/pdf", 1000) }, { form: "labs", instance: 2 }),
    ];
    const before = withFile({ mediaTypes: ["application/pdf", "image/*"] });
    const narrowed = byId(
      analyseImpact(before, withFile({ mediaTypes: ["application/pdf"] }), data).changes,
      "constraint-changed:labs.report",
    );
    expect(narrowed).toMatchObject({ kind: "constraint-narrowed", severity: "review", affected: 1 });
    const widened = byId(
      analyseImpact(before, withFile({ mediaTypes: ["application/pdf", "image/*", "text/plain"] }), data)
        .changes,
      "constraint-changed:labs.report",
    );
    expect(widened).toMatchObject({ kind: "constraint-widened", severity: "safe", affected: 0 });
  });

  it("ids schedule changes by event and form", () => {
    const study = smallStudy({
      events: [
        { id: "baseline", label: "Baseline", day: 1, forms: ["visit"] },
        { id: "unscheduled", label: "Unscheduled", repeatable: true, forms: ["visit", "labs"] },
      ],
    });
    const next = smallDefinition(2, undefined, study);
    const report = analyseImpact(smallDefinition(1), next, [stored({}, { form: "labs" })]);
    expect(byId(report.changes, "form-unscheduled:baseline.labs")).toMatchObject({
      kind: "form-removed-from-event",
      severity: "destructive",
      affected: 1,
    });
    expect(byId(report.changes, "form-scheduled:unscheduled.labs")).toMatchObject({
      kind: "form-added-to-event",
      severity: "safe",
    });
  });

  it("reports a form an arm no longer collects at an event like a form dropped from it, for that arm's data", () => {
    const study = smallStudy({
      events: [
        { id: "baseline", label: "Baseline", day: 1, forms: ["visit", "labs"], armForms: { b: ["visit"] } },
        { id: "unscheduled", label: "Unscheduled", repeatable: true, forms: ["visit"] },
      ],
    });
    const next = smallDefinition(2, undefined, study);
    const report = analyseImpact(smallDefinition(1), next, [
      stored({}, { form: "labs", arm: "b" }),
      stored({}, { form: "labs", arm: "a", subject: "S1-002" }),
    ]);
    expect(report.changes.map((c) => c.id)).toEqual(["form-unscheduled:baseline.labs@b"]);
    expect(report.changes[0]).toMatchObject({
      kind: "form-removed-from-event",
      severity: "destructive",
      arm: "b",
      affected: 1,
    });
    expect(analyseImpact(smallDefinition(1), next, []).changes[0]?.severity).toBe("safe");
  });

  it("reports a form leaving an event's repeatingForms as destructive only for instances after the first", () => {
    const repeating = smallStudy({
      events: [
        { id: "baseline", label: "Baseline", day: 1, forms: ["visit", "labs"], repeatingForms: ["labs"] },
        { id: "unscheduled", label: "Unscheduled", repeatable: true, forms: ["visit"] },
      ],
    });
    const report = (instances: number[]) =>
      analyseImpact(
        smallDefinition(1, undefined, repeating),
        smallDefinition(2),
        instances.map((instance) => stored({}, { form: "labs", instance })),
      ).changes;
    expect(report([1, 2, 3])).toEqual([
      expect.objectContaining({
        id: "form-unrepeated:baseline.labs",
        severity: "destructive",
        affected: 2,
      }),
    ]);
    expect(report([1])[0]).toMatchObject({ severity: "safe", affected: 0 });
  });

  it("keeps an instrument's title change apart from a field's text change", () => {
    const next = smallDefinition(2, {
      ...smallDefinition().instruments,
      labs: {
        ...labs,
        title: "Laboratory",
        properties: { ...labs.properties, hb: { ...labs.properties.hb, title: "Hb" } },
      },
    });
    const report = analyseImpact(smallDefinition(1), next, []);
    expect(report.changes.map((c) => [c.id, c.kind])).toEqual([
      ["text-changed:labs.hb", "text-changed"],
      ["instrument-text-changed:labs", "text-changed"],
    ]);
  });

  it("sorts the most severe first and sums them", () => {
    const next = smallDefinition(2, {
      visit: instrument("visit", { ...visit.properties, note: { type: "string", title: "Note" } }),
    });
    const report = analyseImpact(smallDefinition(1), next, [stored({}, { form: "labs" })]);
    expect(report.changes.map((c) => c.severity)).toEqual(["destructive", "safe", "safe"]);
    expect(report.summary).toEqual({ safe: 2, review: 0, destructive: 1 });
    expect(formatImpact(report)[0]).toBe(
      "Impact against published version 1: 1 destructive, 0 to review, 2 safe",
    );
  });
});

describe("CHANGE_KINDS", () => {
  it("marks exactly the kinds that orphan or recode stored data as destructive with data", () => {
    const kinds = Object.keys(CHANGE_KINDS).filter(destructiveWithData);
    expect(kinds.sort()).toEqual(
      [
        "choice-removed",
        "event-removed",
        "field-removed",
        "form-removed-from-event",
        "form-stops-repeating-at-event",
        "instrument-removed",
        "log-removed",
        "repeating-changed",
        "type-changed",
      ].sort(),
    );
    expect(destructiveWithData("constructor")).toBe(false);
  });
});
