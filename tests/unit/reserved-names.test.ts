import { describe, expect, it } from "vitest";
import { latestValues } from "../../functions/engine/casebook.ts";
import { checkDefinition, RESERVED_NAMES } from "../../functions/engine/check-definition.ts";
import type { Instrument, StudyDefinition, StudyFile } from "../../functions/engine/definition.ts";
import { decideRevision } from "../../functions/engine/revision.ts";
import { resolveSlot } from "../../functions/engine/slots.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";

/**
 * Protocol ids become object keys all over the engine. A name that is also a
 * member of every JavaScript object (`constructor`, `__proto__`, `toString` …)
 * is refused by forms:check, and lookups by such keys find nothing even when
 * a definition somehow holds one.
 */

const sample = (): Instrument => ({
  $id: "sample",
  title: "Sample",
  type: "object",
  additionalProperties: false,
  properties: {
    day: { type: "string", format: "date", title: "Day" },
    kind: {
      type: "string",
      title: "Kind",
      oneOf: [
        { const: "a", title: "A" },
        { const: "b", title: "B" },
      ],
    },
  },
  "x-rules": [{ id: "ok", logic: true, field: "day", message: "m" }],
});

const study = (): StudyFile => ({
  id: "s",
  title: "S",
  arms: [{ id: "a", label: "A" }],
  sites: [{ id: "site-01", name: "One", code: "01" }],
  subjectIdPattern: "^[0-9]+$",
  dayOne: { event: "v1", form: "sample", field: "day" },
  events: [{ id: "v1", label: "V1", day: 1, forms: ["sample"] }],
  logs: [],
});

function errorsOf(edit: (s: StudyFile, i: Instrument) => Instrument[] | undefined) {
  const s = study();
  const i = sample();
  const extra = edit(s, i) ?? [];
  return checkDefinition({
    study: { path: "forms/study.json", json: s },
    instruments: [i, ...extra].map((json) => ({ path: `forms/instruments/${json.$id}.json`, json })),
  }).errors;
}

/** Sets an own property, even one named like a member of Object.prototype. */
function setOwn(target: object, key: string, value: unknown) {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const reserved = (file: string, pointer: string) =>
  expect.objectContaining({ file, pointer, message: expect.stringMatching(/reserved/) });

describe("forms:check refuses names that are JavaScript object members", () => {
  it("knows the members of Object.prototype", () => {
    for (const name of Object.getOwnPropertyNames(Object.prototype))
      expect(RESERVED_NAMES.has(name)).toBe(true);
    expect(RESERVED_NAMES.has("prototype")).toBe(true);
  });

  it("as an instrument id", () => {
    const errors = errorsOf((s) => {
      const other = { ...sample(), $id: "constructor" };
      s.events[0]?.forms.push("constructor");
      return [other];
    });
    expect(errors).toContainEqual(reserved("forms/instruments/constructor.json", "/$id"));
  });

  it("as a field name, a rule id and a choice code", () => {
    const errors = errorsOf((_, i) => {
      setOwn(i.properties, "constructor", { type: "string", title: "C" });
      i["x-rules"] = [{ id: "constructor", logic: true, field: "day", message: "m" }];
      i.properties.kind?.oneOf?.push({ const: "__proto__", title: "P" });
      return undefined;
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        reserved("forms/instruments/sample.json", "/properties/constructor"),
        reserved("forms/instruments/sample.json", "/x-rules/0/id"),
        reserved("forms/instruments/sample.json", "/properties/kind/oneOf/2/const"),
      ]),
    );
  });

  it("as an event, arm, site id, site code or study id", () => {
    const errors = errorsOf((s) => {
      s.id = "constructor";
      s.arms.push({ id: "constructor", label: "C" });
      s.sites.push({ id: "constructor", name: "C", code: "toString" });
      s.events.push({ id: "constructor", label: "C", forms: ["sample"] });
      return undefined;
    });
    const f = "forms/study.json";
    expect(errors).toEqual(
      expect.arrayContaining([
        reserved(f, "/id"),
        reserved(f, "/arms/1/id"),
        reserved(f, "/sites/1/id"),
        reserved(f, "/sites/1/code"),
        reserved(f, "/events/1/id"),
      ]),
    );
  });
});

describe("a definition that somehow holds such a name cannot poison the process", () => {
  it("the latest values of a form named constructor do not reach Object", () => {
    const keys = Object.keys;
    const latest = latestValues([
      { event: "v1", form: "constructor", instance: 1, data: { keys: "poison" }, committedAt: "2024-01-01" },
    ]);
    expect(Object.keys).toBe(keys);
    expect(latest.constructor).toEqual({ keys: "poison" });
    expect(latestValues([]).constructor).toBeUndefined();
  });

  it("a form with a field named constructor saves like any other", () => {
    const instrument = sample();
    setOwn(instrument.properties, "constructor", { type: "string", title: "C" });
    const prepared = prepareForm(instrument, { kind: "a" }, "incomplete", { $event: "v1" });
    expect(prepared.errors).toEqual([]);
    const decision = decideRevision({
      current: undefined,
      baseRev: 0,
      status: "incomplete",
      data: prepared.data,
      reason: undefined,
      fields: Object.keys(instrument.properties),
    });
    expect(decision).toEqual({
      kind: "commit",
      rev: 1,
      statusFrom: null,
      changes: [{ field: "kind", old: null, new: "a" }],
    });
  });

  it("a slot lookup by a member name finds no form", () => {
    const definition: StudyDefinition = { version: 1, study: study(), instruments: { sample: sample() } };
    definition.study.logs.push("constructor");
    expect(resolveSlot(definition, "a", "logs", "constructor", 1)).toEqual({ ok: false, missing: "form" });
    expect(resolveSlot(definition, "a", "v1", "toString", 1)).toEqual({ ok: false, missing: "form" });
  });
});

describe("submitted data", () => {
  it("__proto__ is an unknown field at /__proto__, not silently dropped", () => {
    const submitted = JSON.parse('{"kind":"a","__proto__":{"kind":"b"}}');
    const { errors, data } = prepareForm(sample(), submitted, "incomplete", { $event: "v1" });
    expect(errors).toEqual([expect.objectContaining({ pointer: "/__proto__", code: "unknown-field" })]);
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
  });
});
