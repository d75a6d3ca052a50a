import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFormsDirectory } from "../../functions/definition-files.ts";
import {
  type MetaValidator,
  type MetaValidators,
  metaValidators,
} from "../../functions/engine/check-definition/meta-validators.ts";
import { checkDefinition, type DefinitionFiles } from "../../functions/engine/check-definition.ts";
import { linearRegExp } from "../../functions/engine/pattern.ts";
import { BROWSER_PLUGINS } from "../../functions/web/client/bundle.ts";

/**
 * The builder's editor checks drafts with the meta-schemas precompiled at
 * build time (no ajv, no eval in the page). Here the checker is bundled the
 * way the editor script is (the same esbuild plugins) and held to the
 * server's — ajv compiling the meta-schemas in process — on the reference
 * studies and on a spread of broken definitions derived from them: the same
 * verdicts, the same ajv errors, the same messages per file and pointer.
 */

const ROOT = path.join(import.meta.dirname, "..", "..");
const OUT = path.join(ROOT, "tests", "artifacts", `editor-checks-${process.pid}`);

interface EditorChecks {
  checkDefinition: typeof checkDefinition;
  metaValidators: () => MetaValidators;
}

let editor: EditorChecks;
let bundledInputs: string[];
const references: Record<string, DefinitionFiles> = {};

beforeAll(async () => {
  const result = await build({
    stdin: {
      contents: [
        `export { checkDefinition } from "./functions/engine/check-definition.ts";`,
        `export { metaValidators } from "./functions/web/client/meta-validators.ts";`,
      ].join("\n"),
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2020"],
    write: false,
    metafile: true,
    plugins: BROWSER_PLUGINS,
  });
  bundledInputs = Object.keys(result.metafile.inputs);
  mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, "editor-checks.mjs");
  writeFileSync(file, result.outputFiles[0]?.text ?? "");
  editor = await import(pathToFileURL(file).href);
  // What the pattern script, loaded before the editor's, does in the page.
  globalThis.edcPattern = linearRegExp;
  for (const [name, dir] of [
    ["forms", "forms"],
    ["redcapr", "studies/redcapr-longitudinal"],
  ] as const) {
    const read = await readFormsDirectory(path.join(ROOT, dir));
    if (!read.files) throw new Error(`${dir}: ${JSON.stringify(read.errors)}`);
    references[name] = read.files;
  }
}, 120_000);

afterAll(() => {
  rmSync(OUT, { recursive: true, force: true });
  globalThis.edcPattern = undefined;
});

type Json = Record<string, unknown>;
const clone = <T>(value: T): T => structuredClone(value);

/** A named broken (or intact) copy of a reference study. */
interface Case {
  name: string;
  files: DefinitionFiles;
}

/** A break either changes the file in place (returns nothing) or returns what replaces it, `null` included. */
function replaced(json: unknown, change: (json: Json) => unknown): unknown {
  const result = change(json as Json);
  return result === undefined ? json : result;
}

function withInstrument(
  files: DefinitionFiles,
  index: number,
  change: (json: Json) => unknown,
): DefinitionFiles {
  const copy = clone(files);
  const file = copy.instruments[index];
  if (file) file.json = replaced(file.json, change);
  return copy;
}

function withStudy(files: DefinitionFiles, change: (json: Json) => unknown): DefinitionFiles {
  const copy = clone(files);
  copy.study.json = replaced(copy.study.json, change);
  return copy;
}

/** Every way a builder is likely to break a field, applied to each field of each instrument. */
const FIELD_BREAKS: Record<string, (field: Json) => void> = {
  typoedType: (f) => {
    f.type = "strnig";
  },
  typeAsNumber: (f) => {
    f.type = 7;
  },
  unknownKeyword: (f) => {
    f.maxLenght = 3;
  },
  titleNotString: (f) => {
    f.title = ["x"];
  },
  badMatrixName: (f) => {
    f["x-matrix"] = "Not A Name";
  },
  emptyPattern: (f) => {
    f.pattern = "";
  },
  noTitle: (f) => {
    delete f.title;
  },
  enumNotArray: (f) => {
    f.enum = "a";
  },
  notEcmaPattern: (f) => {
    f.pattern = "([a-z]";
  },
  lookahead: (f) => {
    f.pattern = "^(?=.*[0-9])[A-Z0-9]+$";
  },
  backreference: (f) => {
    f.pattern = "^(a)\\1$";
  },
  beyondRe2: (f) => {
    f.pattern = "^a{1001}$";
  },
};

/** Every way to break a file as a whole, or its top level. */
const FILE_BREAKS: Record<string, (json: Json) => unknown> = {
  notAnObject: () => [],
  nothing: () => null,
  text: () => "instrument",
  empty: () => ({}),
  unknownTopLevel: (j) => {
    j.tittle = "typo";
  },
  badId: (j) => {
    j.$id = "Bad Id";
  },
  noProperties: (j) => {
    delete j.properties;
  },
  badFieldName: (j) => {
    (j.properties as Json).BadName = { type: "string", title: "Bad" };
  },
  requiredNotArray: (j) => {
    j.required = "x";
  },
};

const STUDY_BREAKS: Record<string, (json: Json) => unknown> = {
  unknownTopLevel: (j) => {
    j.armz = [];
  },
  badSlug: (j) => {
    j.id = "Not a slug";
  },
  noEvents: (j) => {
    delete j.events;
  },
  armsNotArray: (j) => {
    j.arms = "rrms";
  },
  lookaheadSubjectIds: (j) => {
    j.subjectIdPattern = "^(?!00)[0-9]{2}-[0-9]{3}$";
  },
  badStartDate: (j) => {
    j.startDate = "1 Jan 2026";
  },
  badEventEntry: (j) => {
    (j.events as unknown[]).push({ id: "Bad Event", forms: 3, extra: true });
  },
  notAnObject: FILE_BREAKS.notAnObject as (json: Json) => unknown,
  nothing: FILE_BREAKS.nothing as (json: Json) => unknown,
  empty: FILE_BREAKS.empty as (json: Json) => unknown,
};

function cases(): Case[] {
  const out: Case[] = [];
  for (const [study, files] of Object.entries(references)) {
    out.push({ name: `${study}: as published`, files });
    for (const [name, breakIt] of Object.entries(STUDY_BREAKS))
      out.push({ name: `${study}: study.json ${name}`, files: withStudy(files, breakIt) });
    files.instruments.forEach((file, index) => {
      for (const [name, breakIt] of Object.entries(FILE_BREAKS))
        out.push({ name: `${study}: ${file.path} ${name}`, files: withInstrument(files, index, breakIt) });
      // Two fields per instrument (first, last) cover the field kinds across the instruments in seconds.
      const all = Object.keys(((file.json as Json).properties as Json | undefined) ?? {});
      const fields = new Set([all[0], all.at(-1)].filter((f) => f !== undefined));
      for (const field of fields)
        for (const [name, breakIt] of Object.entries(FIELD_BREAKS))
          out.push({
            name: `${study}: ${file.path} ${field} ${name}`,
            files: withInstrument(files, index, (j) => breakIt((j.properties as Json)[field] as Json)),
          });
    });
  }
  return out;
}

/** What the editor and the server must agree on: ajv's verdict and its errors, schema references included. */
function answer(validate: MetaValidator, json: unknown) {
  const valid = validate(json);
  return { valid, errors: validate.errors ?? null };
}

describe("the builder editor's precompiled meta-schema checks", () => {
  it("bundle no ajv compiler (only its runtime helpers), no ajv-formats and no RE2", () => {
    const ajvModules = bundledInputs.filter((input) => input.includes("node_modules/ajv/"));
    expect(ajvModules.length).toBeGreaterThan(0);
    expect(ajvModules.filter((input) => !input.includes("node_modules/ajv/dist/runtime/"))).toEqual([]);
    // RE2 comes from the pattern script the page loads first, not bundled a second time.
    expect(
      bundledInputs.filter((input) => /node_modules\/(ajv-formats|fast-uri|re2js)\//.test(input)),
    ).toEqual([]);
  });

  it("answer as ajv compiling the meta-schemas does, file by file", () => {
    const server = metaValidators();
    const browser = editor.metaValidators();
    let invalid = 0;
    for (const { name, files } of cases()) {
      const study = answer(server.study, files.study.json);
      expect(answer(browser.study, files.study.json), `${name}: study.json`).toEqual(study);
      if (!study.valid) invalid++;
      for (const file of files.instruments) {
        const expected = answer(server.instrument, file.json);
        expect(answer(browser.instrument, file.json), `${name}: ${file.path}`).toEqual(expected);
        if (!expected.valid) invalid++;
      }
    }
    // The broken cases do break the meta-schemas (else this compared only successes).
    expect(invalid).toBeGreaterThan(300);
  }, 120_000);

  it("give the editor the same problems, per file and pointer, as forms:check and the publish API", () => {
    const all = cases();
    let withErrors = 0;
    for (const { name, files } of all) {
      const expected = checkDefinition(files);
      expect(editor.checkDefinition(files).errors, name).toEqual(expected.errors);
      if (expected.errors.length > 0) withErrors++;
    }
    expect(withErrors).toBe(all.filter((c) => !c.name.endsWith("as published")).length);
  }, 120_000);

  it("say a typo the builder's way: where it is, what it is, what was meant", () => {
    const files = withInstrument(references.forms as DefinitionFiles, 0, (j) => {
      const [first] = Object.values(j.properties as Json) as Json[];
      if (first) first.maxLenght = 3;
    });
    const errors = editor.checkDefinition(files).errors;
    expect(errors).toContainEqual(
      expect.objectContaining({
        file: expect.stringMatching(/instruments\/adverse_event\.json$/),
        message: expect.stringMatching(
          /^unknown property "maxLenght" in "[a-z_]+" \(did you mean "maxLength"\?\)$/,
        ),
      }),
    );
  });
});
