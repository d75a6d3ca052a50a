import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { readFormsDirectory } from "../../functions/definition-files.ts";
import { checkDefinition, type DefinitionFiles } from "../../functions/engine/check-definition.ts";
import type { Instrument } from "../../functions/engine/definition.ts";
import { fileFitProblem, fileNameProblem, mediaTypeAllowed } from "../../functions/engine/file-fields.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";

const instrument: Instrument = {
  $id: "scans",
  title: "Scans",
  type: "object",
  additionalProperties: false,
  properties: {
    scan: {
      type: "object",
      title: "Scan",
      "x-file": { mediaTypes: ["application/pdf", "image/*"], maxBytes: 1000 },
    },
    signed: { type: "object", title: "Signature", "x-widget": "signature", "x-file": {} },
  },
  required: ["scan"],
};

const ref = (over: Record<string, unknown> = {}) => ({
  sha256: "a".repeat(64),
  size: 500,
  name: "consent.pdf",
  mediaType: "application/pdf",
  ...over,
});

const errorsOf = (data: Record<string, unknown>) =>
  prepareForm(instrument, data, "incomplete", { $event: "baseline" }).errors.map((e) => [e.pointer, e.code]);

describe("file field values", () => {
  it("accept a well-formed reference of an allowed type and size", () => {
    expect(errorsOf({ scan: ref(), signed: ref({ mediaType: "image/png", name: "signature.png" }) })).toEqual(
      [],
    );
    expect(errorsOf({ scan: ref({ mediaType: "image/jpeg", name: "scan.jpg" }) })).toEqual([]);
  });

  it("refuse what is not a reference", () => {
    expect(errorsOf({ scan: "consent.pdf" })).toEqual([["/scan", "type"]]);
    expect(errorsOf({ scan: { ...ref(), extra: 1 } })).toEqual([["/scan", "file-reference"]]);
    expect(errorsOf({ scan: ref({ sha256: "A".repeat(64) }) })).toEqual([["/scan", "file-reference"]]);
    expect(errorsOf({ scan: ref({ size: -1 }) })).toEqual([["/scan", "file-reference"]]);
    expect(errorsOf({ scan: ref({ size: "500" }) })).toEqual([["/scan", "file-reference"]]);
  });

  it("refuse a type, size or name the protocol does not allow", () => {
    expect(errorsOf({ scan: ref({ mediaType: "text/html" }) })).toEqual([["/scan", "file-type"]]);
    expect(errorsOf({ scan: ref({ size: 1001 }) })).toEqual([["/scan", "file-size"]]);
    expect(errorsOf({ scan: ref({ name: "../etc/passwd" }) })).toEqual([["/scan", "file-name"]]);
    expect(errorsOf({ signed: ref() })).toEqual([["/signed", "file-type"]]);
  });

  it("are required like any field when the form is complete", () => {
    const done = prepareForm(instrument, {}, "complete", { $event: "baseline" });
    expect(done.errors.map((e) => [e.pointer, e.code])).toEqual([["/scan", "required"]]);
  });

  it("helpers: media type wildcards, names, sizes", () => {
    expect(mediaTypeAllowed("IMAGE/PNG", ["image/*"])).toBe(true);
    expect(mediaTypeAllowed("imagex/png", ["image/*"])).toBe(false);
    expect(mediaTypeAllowed("anything/at-all", undefined)).toBe(true);
    expect(fileNameProblem("a\u0000b")).toBeDefined();
    expect(fileNameProblem("x".repeat(256))).toBeDefined();
    expect(fileNameProblem("Scan 2024.pdf")).toBeUndefined();
    expect(fileFitProblem({ type: "object", "x-file": {} }, 0, "text/plain")).toMatch(/empty/);
    expect(fileFitProblem({ type: "object", "x-file": {} }, 11 * 1024 * 1024, "text/plain")).toMatch(
      /at most 10 MB/,
    );
  });
});

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let shipped: DefinitionFiles;
beforeAll(async () => {
  const read = await readFormsDirectory(path.join(ROOT, "forms"));
  if (!read.files) throw new Error("forms/ could not be read");
  shipped = read.files;
});

function withField(field: unknown) {
  const files = structuredClone(shipped);
  const consent = files.instruments.find((f) => f.path.endsWith("consent.json"));
  if (!consent) throw new Error("no consent.json");
  (consent.json as { properties: Record<string, unknown> }).properties.consent_scan = field;
  return {
    errors: checkDefinition(files).errors.filter((e) => e.file === consent.path),
  };
}

describe("forms:check on file fields", () => {
  it("accepts a file field and a signature field", () => {
    expect(
      withField({
        type: "object",
        title: "Scan",
        "x-file": { mediaTypes: ["application/pdf"], maxBytes: 5000000 },
      }).errors,
    ).toEqual([]);
    expect(
      withField({ type: "object", title: "Signature", "x-widget": "signature", "x-file": {} }).errors,
    ).toEqual([]);
  });

  it.each([
    [{ type: "object", title: "Scan" }, "/properties/consent_scan", /needs "x-file"/],
    [{ type: "string", title: "Scan", "x-file": {} }, "/properties/consent_scan/x-file", /does not apply/],
    [
      { type: "object", title: "Scan", "x-file": { mediaTypes: ["pdf"] } },
      "/properties/consent_scan/x-file/mediaTypes/0",
      undefined,
    ],
    [
      { type: "object", title: "Scan", "x-file": { maxBytes: 0 } },
      "/properties/consent_scan/x-file/maxBytes",
      undefined,
    ],
    [
      { type: "object", title: "Scan", "x-file": { maxBytes: 1e9 } },
      "/properties/consent_scan/x-file/maxBytes",
      undefined,
    ],
    [
      { type: "object", title: "Scan", "x-file": { other: 1 } },
      "/properties/consent_scan/x-file/other",
      /unknown property/,
    ],
    [
      { type: "object", title: "Sig", "x-widget": "signature", "x-file": { mediaTypes: ["image/jpeg"] } },
      "/properties/consent_scan/x-file/mediaTypes",
      /image\/png/,
    ],
    [
      { type: "string", title: "Sig", "x-widget": "signature" },
      "/properties/consent_scan/x-widget",
      /does not fit/,
    ],
    [
      { type: "object", title: "Scan", "x-file": {}, readOnly: true, "x-calc": 1 },
      "/properties/consent_scan/x-calc",
      /file field/,
    ],
  ])("refuses %j at its pointer", (field, pointer, message) => {
    const { errors } = withField(field);
    const match = errors.find((e) => e.pointer === pointer);
    expect(match, JSON.stringify(errors)).toBeDefined();
    if (message) expect(match?.message).toMatch(message);
  });
});
