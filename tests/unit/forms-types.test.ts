import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instrumentTypes, typeName } from "../../functions/cli/forms-types.ts";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { FieldSchema, Instrument, StudyDefinition } from "../../functions/engine/definition.ts";

/** The types generated for the shipped forms/, compiled by tsc together with code that uses them. */

const SNIPPETS: Record<string, string> = {
  "valid.ts": `
    import type { AdverseEvent, Demographics, Edss, InstrumentId, StudyForms } from "./instruments.js";
    export const edss: Edss = {
      assessment_date: "2026-03-01", assessor_blinded: true,
      fs_visual: 1, fs_brainstem: 0, fs_pyramidal: 2, fs_cerebellar: 1, fs_sensory: 1,
      fs_bowel_bladder: 0, fs_cerebral: 0, ambulation: 1, edss_total: 3.5,
    };
    export const draft: Partial<Edss> = { edss_total: 2 };
    export const ae: StudyForms["adverse_event"] = {} as AdverseEvent;
    export const criteria: AdverseEvent["sae_criteria"] = ["death", "hospitalisation"];
    export const age: number | undefined = ({} as Demographics).age;
    export const id: InstrumentId = "vital_signs";
    export const scan: StudyForms["consent"]["consent_scan"] = {
      sha256: "0".repeat(64), size: 1, name: "scan.pdf", mediaType: "application/pdf",
    };
  `,
  "wrong-type.ts": `
    import type { Edss } from "./instruments.js";
    export const edss: Partial<Edss> = { edss_total: "x" };
  `,
  "unknown-field.ts": `
    import type { Edss } from "./instruments.js";
    export const edss: Partial<Edss> = { edss_total: 3, edss_totl: 3 };
  `,
  "unknown-code.ts": `
    import type { Edss } from "./instruments.js";
    export const edss: Partial<Edss> = { ambulation: 13, edss_total: 0.5 };
  `,
  "missing-required.ts": `
    import type { Edss } from "./instruments.js";
    export const edss: Edss = { edss_total: 3 };
  `,
  "calculated.ts": `
    import type { Demographics } from "./instruments.js";
    export function set(d: Demographics) { d.age = 40; }
  `,
  "file-name-only.ts": `
    import type { Consent } from "./instruments.js";
    export const consent: Partial<Consent> = { consent_scan: "scan.pdf" };
  `,
  "unknown-instrument.ts": `
    import type { InstrumentId } from "./instruments.js";
    export const id: InstrumentId = "qol";
  `,
};

let source: string;
let dir: string;
const diagnostics = new Map<string, string[]>();

beforeAll(async () => {
  source = await instrumentTypes(await loadDefinition("forms"));
  dir = mkdtempSync(path.join(tmpdir(), "forms-types-"));
  await writeFile(path.join(dir, "instruments.d.ts"), source);
  for (const [name, text] of Object.entries(SNIPPETS)) writeFileSync(path.join(dir, name), text);
  const program = ts.createProgram(
    Object.keys(SNIPPETS).map((n) => path.join(dir, n)),
    {
      strict: true,
      noEmit: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: [],
    },
  );
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file ? path.basename(d.file.fileName) : "(global)";
    diagnostics.set(file, [
      ...(diagnostics.get(file) ?? []),
      `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
    ]);
  }
}, 30_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run forms:types", () => {
  it("names one interface per instrument in PascalCase, plus StudyForms and InstrumentId", () => {
    expect(typeName("adverse_event")).toBe("AdverseEvent");
    expect(typeName("edss")).toBe("Edss");
    const exported = [...source.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]);
    expect(exported).toEqual([
      "AdverseEvent",
      "ConMed",
      "Consent",
      "Demographics",
      "Diagnosis",
      "Edss",
      "Eligibility",
      "EndOfStudy",
      "Infusion",
      "Labs",
      "Mri",
      "Relapse",
      "TumourSurveillance",
      "UnscheduledVisit",
      "VitalSigns",
      "StudyForms",
      "InstrumentId",
    ]);
  });

  it("keeps labels and help as JSDoc, codes as literal unions, calculated fields readonly", () => {
    expect(source).toContain(" * EDSS score\n");
    expect(source).toMatch(/ambulation: 0 \| 1 \| 2 \| 3 \| 4 \| 5 \| 6 \| 7 \| 8 \| 9 \| 10 \| 11 \| 12;/);
    expect(source).toContain("   * - 0: Unrestricted\n");
    expect(source).toContain("readonly age?: number;");
    expect(source).not.toMatch(/x-(calc|visible-if|unit)/);
  });

  it("compiles with strict TypeScript: the generated file and valid uses have no errors", () => {
    expect(diagnostics.get("instruments.d.ts")).toBeUndefined();
    expect(diagnostics.get("(global)")).toBeUndefined();
    expect(diagnostics.get("valid.ts")).toBeUndefined();
  });

  it.each([
    ["wrong-type.ts", /TS2322: Type 'string' is not assignable to type '0 \| .*1\.5 \| /],
    ["unknown-field.ts", /TS(2353|2561): Object literal may only specify known properties, .*'edss_totl'/],
    ["unknown-code.ts", /TS2322: Type '13' is not assignable/],
    ["missing-required.ts", /TS27(39|40): Type .* is missing the following properties .*assessment_date/],
    ["calculated.ts", /TS2540: Cannot assign to 'age' because it is a read-only property/],
    ["file-name-only.ts", /TS2322: Type 'string' is not assignable to type '\{ sha256: string;/],
    ["unknown-instrument.ts", /TS2322: Type '"qol"' is not assignable to type 'keyof StudyForms'/],
  ])("refuses %s", (file, message) => {
    expect(diagnostics.get(file)?.join("\n")).toMatch(message);
  });

  it("leaves display-only fields out and refuses instrument ids whose type names clash", async () => {
    const study = { id: "s" } as StudyDefinition["study"];
    const instrument = (properties: Record<string, FieldSchema>): Instrument => ({
      $id: "x",
      title: "X",
      type: "object",
      additionalProperties: false,
      properties,
      required: Object.keys(properties),
    });
    const text = await instrumentTypes({
      version: 0,
      study,
      instruments: {
        pain: instrument({
          intro: { type: "null", title: "Rate your pain", "x-widget": "descriptive" },
          score: { type: "integer", title: "Pain", minimum: 0, maximum: 10, "x-widget": "slider" },
        }),
      },
    });
    expect(text).toMatch(/export interface Pain \{\n(.*\n)* {2}score: number;\n\}/);
    expect(text).not.toContain("intro");
    await expect(
      instrumentTypes({ version: 0, study, instruments: { ab: instrument({}), ab_: instrument({}) } }),
    ).rejects.toThrow(/ab_: its type name Ab is also that of ab/);
  });

  it("refuses 0.5 as an EDSS score", () => {
    expect(diagnostics.get("unknown-code.ts")?.join("\n")).toMatch(/Type '0\.5' is not assignable/);
  });
});
