import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { Instrument, StudyDefinition } from "../../functions/engine/definition.ts";
import { loadValidator } from "../../functions/engine/schema-validator.ts";
import { referenceValidator, validatorCode } from "../../functions/engine/validator-code.ts";
import type { SchemaValidator } from "../../functions/engine/validator-runtime.ts";

/**
 * The precompiled checks (ajv standalone code, with the engine's own format
 * functions) answer exactly what ajv compiling the schema in process with
 * ajv-formats answered before: same verdict, same errors, for every field of
 * the reference studies and a spread of right and wrong values.
 */

const repoRoot = path.join(import.meta.dirname, "..", "..");
const studies: Record<string, StudyDefinition> = {};

beforeAll(async () => {
  studies.forms = await loadDefinition(path.join(repoRoot, "forms"));
  studies.redcapr = await loadDefinition(path.join(repoRoot, "studies", "redcapr-longitudinal"));
});

const PROBES: unknown[] = [
  "",
  "abc",
  "AB",
  "ABCD",
  "x".repeat(300),
  "é😀",
  0,
  -1,
  1.5,
  7,
  42,
  1e9,
  true,
  [],
  ["a"],
  ["a", "a"],
  [1, 2],
  {},
  { sha256: "0".repeat(64), name: "a.pdf", type: "application/pdf", size: 10 },
  "2026-02-28",
  "2024-02-29",
  "2026-02-29",
  "2024-02-30",
  "1900-02-29",
  "2000-02-29",
  "2026-04-31",
  "2026-01-01T23:59:60+01:00",
  "2026-01-01T00:59:60+01:00",
  "2026-01-01T10:00:00.123-05:30",
  "2026-01-01T10:00:00+24:00",
  "2026-13-01",
  "2026-01-01T10:00:00Z",
  "2026-01-01t23:59:60z",
  "2026-01-01T10:00:00",
  "2026-01-01 10:00:00+01:00",
  "2026-01-01T09:30",
  "2026-01-01T24:30",
  "10:30",
  "10:61",
  "23:59:59",
  "someone@example.org",
  "not an email",
];

function probesFor(instrument: Instrument, field: string): unknown[] {
  const schema = instrument.properties[field];
  const choices = (schema?.oneOf ?? schema?.items?.oneOf ?? []).map((c) => c.const);
  return [...PROBES, ...choices, choices, [...choices, ...choices]];
}

const answer = (validate: SchemaValidator, data: unknown) => ({
  valid: validate(data),
  errors: (validate.errors ?? []).map(({ keyword, instancePath, params, message }) => ({
    keyword,
    instancePath,
    params,
    message,
  })),
});

describe("precompiled instrument validators", () => {
  it("answer as ajv compiling the schema did, field by field, on the reference studies", () => {
    let compared = 0;
    for (const definition of Object.values(studies)) {
      for (const instrument of Object.values(definition.instruments)) {
        const precompiled = loadValidator(validatorCode(instrument));
        const reference = referenceValidator(instrument);
        for (const field of Object.keys(instrument.properties)) {
          for (const value of probesFor(instrument, field)) {
            const data = { [field]: value };
            expect(
              answer(precompiled, data),
              `${instrument.$id}.${field} = ${JSON.stringify(value)}`,
            ).toEqual(answer(reference, data));
            compared++;
          }
        }
        // Unknown fields and a whole wrong document too.
        expect(answer(precompiled, { nope: 1 })).toEqual(answer(reference, { nope: 1 }));
        expect(answer(precompiled, [])).toEqual(answer(reference, []));
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("run builder patterns on RE2, so a catastrophic pattern stays linear", () => {
    const instrument: Instrument = {
      $id: "p",
      title: "P",
      type: "object",
      additionalProperties: false,
      properties: { code: { type: "string", pattern: "^(a+)+$" } },
    };
    const validate = loadValidator(validatorCode(instrument));
    expect(validatorCode(instrument)).toContain('require("edc:pattern")');
    expect(validate({ code: `${"a".repeat(5000)}!` })).toBe(false);
    expect(validate({ code: "aaa" })).toBe(true);
  });

  it("are generated once per instrument object and compile nothing when loaded", () => {
    const instrument = Object.values(studies.forms?.instruments ?? {})[0] as Instrument;
    expect(validatorCode(instrument)).toBe(validatorCode(instrument));
    expect(validatorCode(instrument)).not.toMatch(/new Function|\beval\(/);
  });
});
