import { describe, expect, it } from "vitest";
import { checkDefinition } from "../../functions/engine/check-definition.ts";
import type { Instrument, StudyFile } from "../../functions/engine/definition.ts";
import { matchesPattern, patternProblem } from "../../functions/engine/pattern.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";

/**
 * Builder patterns (a field's `pattern`, the study's `subjectIdPattern`) run
 * on an RE2 engine, linear in the input, on the server and in the browser.
 * No test here asserts a time: a backtracking engine would hang them instead.
 */

// 29 a's then a character the pattern refuses: a backtracking engine tries 2^29 ways before saying no.
const EVIL_INPUT = `${"a".repeat(29)}!`;

const withPattern = (pattern: string): Instrument => ({
  $id: "sample",
  title: "Sample",
  type: "object",
  additionalProperties: false,
  properties: { code: { type: "string", title: "Code", pattern } },
});

describe("form validation runs builder patterns in linear time", () => {
  it("refuses a value against a pattern of nested quantifiers without backtracking", () => {
    const { errors } = prepareForm(withPattern("^(a+)+$"), { code: EVIL_INPUT }, "incomplete", {
      $event: "e",
    });
    expect(errors).toEqual([expect.objectContaining({ pointer: "/code", code: "pattern" })]);
    expect(
      prepareForm(withPattern("^(a+)+$"), { code: "aaa" }, "incomplete", { $event: "e" }).errors,
    ).toEqual([]);
  });

  it("compiles patterns with RE2, not the JavaScript engine", () => {
    // `\z` (end of text) is RE2 syntax that JavaScript refuses: only the linear engine can compile this.
    const instrument = withPattern("^ab\\z");
    expect(prepareForm(instrument, { code: "ab" }, "incomplete", { $event: "e" }).errors).toEqual([]);
    expect(prepareForm(instrument, { code: "abc" }, "incomplete", { $event: "e" }).errors).toHaveLength(1);
  });

  it("matches subject ids in linear time, unanchored like JSON Schema", () => {
    expect(matchesPattern("^[0-9]{2}-[0-9]{3}$|^(a+)+$", EVIL_INPUT)).toBe(false);
    expect(matchesPattern("^[0-9]{2}-[0-9]{3}$|^(a+)+$", "01-002")).toBe(true);
    expect(matchesPattern("[0-9]", "x1x")).toBe(true);
  });
});

describe("forms:check refuses patterns the linear engine cannot run", () => {
  it.each([
    ["a backreference", "^(a)\\1$"],
    ["a lookahead", "^(?=a)a$"],
    ["a negative lookbehind", "(?<!a)b"],
  ])("%s", (_, pattern) => {
    expect(patternProblem(pattern)).toMatch(/linear/);
  });

  it("and ECMA-262 must accept it too (JSON Schema patterns are ECMA-262)", () => {
    expect(patternProblem("^ab\\z")).toMatch(/JavaScript|ECMA/);
    expect(patternProblem("^[0-9]{2}-[0-9]{3}$")).toBeUndefined();
    expect(patternProblem("^[\\p{L} .'-]+$")).toBeUndefined();
  });

  it("with the file and a JSON pointer for a field pattern and the subject id pattern", () => {
    const study: StudyFile = {
      id: "s",
      title: "S",
      arms: [{ id: "a", label: "A" }],
      sites: [{ id: "site-01", name: "One", code: "01" }],
      subjectIdPattern: "^(\\d+)-\\1$",
      dayOne: { event: "v1", form: "sample", field: "day" },
      events: [{ id: "v1", label: "V1", day: 1, forms: ["sample"] }],
      logs: [],
    };
    const sample = withPattern("^(a)\\1$");
    sample.properties.day = { type: "string", format: "date", title: "Day" };
    const { errors } = checkDefinition({
      study: { path: "forms/study.json", json: study },
      instruments: [{ path: "forms/instruments/sample.json", json: sample }],
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: "forms/study.json",
          pointer: "/subjectIdPattern",
          message: expect.stringMatching(/linear/),
        }),
        expect.objectContaining({
          file: "forms/instruments/sample.json",
          pointer: "/properties/code/pattern",
          message: expect.stringMatching(/backreference|linear/),
        }),
      ]),
    );
  });
});
