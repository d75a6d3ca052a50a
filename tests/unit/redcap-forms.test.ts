import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { readFormsDirectory } from "../../functions/definition-files.ts";
import { checkDefinition, type DefinitionFiles } from "../../functions/engine/check-definition.ts";
import type { Instrument, StudyFile } from "../../functions/engine/definition.ts";
import { stableJson } from "../../functions/engine/redcap/annotation.ts";
import {
  buildDictionary,
  COLUMNS,
  type ExportOptions,
  importDictionary,
  type Row,
  readRows,
  writeRows,
} from "../../functions/engine/redcap/dictionary.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

let files: DefinitionFiles;
let study: StudyFile;
let instruments: Record<string, Instrument>;
let options: ExportOptions;

beforeAll(async () => {
  const read = await readFormsDirectory(path.join(ROOT, "forms"));
  if (!read.files) throw new Error("forms/ could not be read");
  files = read.files;
  study = files.study.json as StudyFile;
  instruments = Object.fromEntries(
    files.instruments.map((f) => [(f.json as Instrument).$id, f.json as Instrument]),
  );
  options = { formOrder: [...new Set([...study.events.flatMap((e) => e.forms), ...study.logs])] };
});

function rowOf(rows: Row[], name: string): Row {
  const row = rows.find((r) => r["Variable / Field Name"] === name);
  if (!row) throw new Error(`no row ${name}`);
  return row;
}

describe("the reference study as a REDCap dictionary", () => {
  it("exports with REDCap's 18 headers, the record id first and unique field names", () => {
    const { rows } = buildDictionary(instruments, options);
    const csv = writeRows(rows);
    expect(csv.split("\n")[0]).toBe(COLUMNS.map((c) => (c.includes(",") ? `"${c}"` : c)).join(","));
    expect(rows[0]).toMatchObject({
      "Variable / Field Name": "record_id",
      "Form Name": "consent",
      "Field Type": "text",
    });
    const names = rows.map((r) => r["Variable / Field Name"]);
    expect(new Set(names).size).toBe(names.length);
    // the engine's names are unique per instrument only: REDCap's per project
    expect(rowOf(rows, "vital_signs_weight")["Field Annotation"]).toContain('"$name":"weight"');
  });

  it("re-imports to the same instruments, field for field", () => {
    const { rows } = buildDictionary(instruments, options);
    const back = importDictionary(writeRows(rows));
    expect(back.report.filter((i) => i.severity === "error")).toEqual([]);
    expect(Object.keys(back.instruments)).toEqual(options.formOrder);
    for (const [id, instrument] of Object.entries(instruments)) {
      const again = back.instruments[id];
      expect(Object.keys(again?.properties ?? {}), id).toEqual(Object.keys(instrument.properties));
      for (const [name, schema] of Object.entries(instrument.properties)) {
        expect(stableJson(again?.properties[name]), `${id}.${name}`).toBe(stableJson(schema));
      }
      const { properties: _a, ...rest } = instrument;
      const { properties: _b, ...restAgain } = again as Instrument;
      expect(stableJson(restAgain), id).toBe(stableJson(rest));
    }
  });

  it("re-imported, passes the definition check with the study file", () => {
    const back = importDictionary(writeRows(buildDictionary(instruments, options).rows));
    const { errors } = checkDefinition({
      study: files.study,
      instruments: Object.entries(back.instruments).map(([id, json]) => ({
        path: `instruments/${id}.json`,
        json,
      })),
    });
    expect(errors).toEqual([]);
  });

  it("writes REDCap logic a REDCap user can read, and carries what REDCap cannot say", () => {
    const { rows, report } = buildDictionary(instruments, options);
    expect(rowOf(rows, "aqp4_igg")["Branching Logic (Show field only if...)"]).toBe("[diagnosis] = 'nmosd'");
    expect(rowOf(rows, "premedication_other")["Branching Logic (Show field only if...)"]).toBe(
      "[premedication(other)] = '1'",
    );
    expect(rowOf(rows, "new_enlarging_t2")["Branching Logic (Show field only if...)"]).toBe(
      "[event-name] <> 'screening'",
    );
    expect(rowOf(rows, "eligible")["Choices, Calculations, OR Slider Labels"]).toMatch(
      /^if\(\[inc_age\] = '' or /,
    );
    // $arm has no REDCap spelling: the branching column stays empty, the logic rides in @X-SCHEMA
    expect(rowOf(rows, "letm")["Branching Logic (Show field only if...)"]).toBe("");
    expect(rowOf(rows, "letm")["Field Annotation"]).toContain("@X-SCHEMA=");
    expect(report).toContainEqual(
      expect.objectContaining({
        field: "letm",
        column: "Branching Logic (Show field only if...)",
        severity: "error",
      }),
    );
    // A hard range goes to REDCap's min/max (which only warn there) and comes back hard through @X-SCHEMA.
    expect(rowOf(rows, "height")["Text Validation Min"]).toBe("120");
    expect(rowOf(rows, "height")["Field Annotation"]).toContain('"minimum":120,"maximum":220,"x-unit":"cm"');
    // A soft range is what REDCap's min/max mean: the columns say it; the hard range travels in @X-SCHEMA.
    expect(rowOf(rows, "temperature")["Text Validation Min"]).toBe("35");
    expect(rowOf(rows, "temperature")["Text Validation Max"]).toBe("40");
    expect(rowOf(rows, "temperature")["Field Annotation"]).toContain('"minimum":30,"maximum":44');
    expect(rowOf(rows, "investigator_name")["Field Annotation"]).toBe("@CHARLIMIT=100");
  });

  it("without engine tags, reports every field whose details are lost", () => {
    const tagged = buildDictionary(instruments, options).rows;
    const plain = buildDictionary(instruments, { ...options, engineTags: false });
    expect(plain.rows.some((r) => r["Field Annotation"].includes("@X-"))).toBe(false);
    const logicColumn: Record<string, keyof Row> = {
      "x-visible-if": "Branching Logic (Show field only if...)",
      "x-calc": "Choices, Calculations, OR Slider Labels",
    };
    for (const row of tagged) {
      const overlay = /@X-SCHEMA=(\{.*\})\s*$/.exec(row["Field Annotation"])?.[1];
      if (!overlay) continue;
      const carried = Object.keys(JSON.parse(overlay) as object).filter((k) => k !== "$cols");
      // JSON Logic carried only for its exact shape: the REDCap column means the same (redcap-visibility.test.ts)
      if (carried.every((k) => logicColumn[k] && row[logicColumn[k] as keyof Row] !== "")) continue;
      const name = row["Variable / Field Name"];
      const field = /"\$name":"([a-z0-9_]+)"/.exec(row["Field Annotation"])?.[1] ?? name;
      expect(
        plain.report.some((i) => i.form === row["Form Name"] && i.field === field),
        `${name} lost details without a report`,
      ).toBe(true);
    }
  });
});

describe("a dictionary edited in a spreadsheet after export", () => {
  function edit(change: (rows: Row[]) => void) {
    const rows = buildDictionary(instruments, options).rows.map((r) => ({ ...r }));
    change(rows);
    return importDictionary(writeRows(rows));
  }

  it("keeps the engine's details where the columns they depend on are unchanged", () => {
    const r = edit((rows) => {
      rowOf(rows, "height")["Field Label"] = "Standing height";
    });
    expect(r.instruments.demographics?.properties.height).toMatchObject({
      title: "Standing height",
      "x-unit": "cm",
    });
  });

  it("takes edited branching logic from its column over the carried JSON Logic, and says so", () => {
    const r = edit((rows) => {
      rowOf(rows, "end_date")["Branching Logic (Show field only if...)"] = "[ongoing] = '0'";
    });
    expect(r.instruments.adverse_event?.properties.end_date?.["x-visible-if"]).toEqual({
      "==": [{ var: "ongoing" }, false],
    });
    expect(r.report).toContainEqual(
      expect.objectContaining({
        field: "end_date",
        severity: "warning",
        message: expect.stringMatching(/x-visible-if/),
      }),
    );
  });

  it("takes edited choices over the carried ones", () => {
    const r = edit((rows) => {
      rowOf(rows, "edss_total")["Choices, Calculations, OR Slider Labels"] = "0, 0 | 1, 1 | 10, 10";
    });
    const edss = r.instruments.edss?.properties.edss_total;
    expect(edss?.enum).toBeUndefined();
    expect(edss?.oneOf).toEqual([0, 1, 10].map((n) => ({ const: n, title: String(n) })));
  });
});

describe("npm run forms:export-redcap and forms:import-redcap", () => {
  const tsx = path.join(ROOT, "node_modules/.bin/tsx");

  it("export the study and import it back into instrument files", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "redcap-"));
    try {
      const exported = await run(
        tsx,
        [path.join(ROOT, "functions/cli/redcap-export.ts"), path.join(ROOT, "forms")],
        {
          cwd: ROOT,
        },
      );
      expect(readRows(exported.stdout).rows.length).toBe(137);
      expect(exported.stderr).toMatch(/letm/);
      const csv = path.join(dir, "study.csv");
      await writeFile(csv, exported.stdout);
      await run(tsx, [path.join(ROOT, "functions/cli/redcap-import.ts"), csv, "--out", dir], { cwd: ROOT });
      const written = (await readdir(path.join(dir, "instruments"))).sort();
      expect(written).toEqual(
        Object.keys(instruments)
          .map((id) => `${id}.json`)
          .sort(),
      );
      const demographics = JSON.parse(
        await readFile(path.join(dir, "instruments/demographics.json"), "utf8"),
      );
      expect(stableJson(demographics)).toBe(stableJson(instruments.demographics));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("import exits 1 and writes nothing when something could not be translated, unless --allow-partial", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "redcap-"));
    const source = path.join(ROOT, "tests/fixtures/redcap/redcapr-validation-types-1/dictionary.csv");
    const cli = path.join(ROOT, "functions/cli/redcap-import.ts");
    try {
      const failed = await run(tsx, [cli, source, "--out", dir], { cwd: ROOT }).catch((e: unknown) => e);
      expect(failed).toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/form_1\.f_sql \[Field Type\]/),
      });
      await expect(readdir(path.join(dir, "instruments"))).rejects.toThrow();
      await run(tsx, [cli, source, "--out", dir, "--allow-partial"], { cwd: ROOT });
      expect(await readdir(path.join(dir, "instruments"))).toEqual(["form_1.json"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
