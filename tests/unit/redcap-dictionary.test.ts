import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkDefinition } from "../../functions/engine/check-definition.ts";
import type { Instrument, StudyFile } from "../../functions/engine/definition.ts";
import { type FoundTag, findTags, withoutTags } from "../../functions/engine/redcap/annotation.ts";
import {
  COLUMNS,
  type Column,
  DROPPED_COLUMNS,
  exportDictionary,
  type ImportResult,
  importDictionary,
  type Row,
  readRows,
  writeRows,
} from "../../functions/engine/redcap/dictionary.ts";
import { normalizeRedcap } from "../../functions/engine/redcap/logic.ts";
import { readProjectXml } from "../../functions/engine/redcap/project-xml.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = path.join(ROOT, "tests/fixtures/redcap");
const PROJECTS = path.join(ROOT, "tests/fixtures/redcap-projects");
const folders = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

/**
 * Every dictionary we hold, read where it lies: the dictionaries of
 * tests/fixtures/redcap/, then each project of tests/fixtures/redcap-projects/
 * by its dictionary.csv and, rebuilt from its project XML, by its project.xml.
 * A text already listed (the same file copied twice) is compared once.
 */
const dictionaries = new Map<string, string>();
const add = (name: string, text: string) => {
  if (![...dictionaries.values()].includes(text)) dictionaries.set(name, text);
};
const fileIn = (...parts: string[]) => {
  const file = path.join(...parts);
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
};
for (const name of folders(FIXTURES)) add(name, fileIn(FIXTURES, name, "dictionary.csv") ?? "");
for (const name of folders(PROJECTS)) {
  const csv = fileIn(PROJECTS, name, "dictionary.csv");
  if (csv !== undefined) add(`${name} (dictionary.csv)`, csv);
  const xml = fileIn(PROJECTS, name, "project.xml");
  if (xml !== undefined) add(`${name} (project.xml)`, writeRows(readProjectXml(xml).dictionary));
}
const fixtures = [...dictionaries.keys()];
const read = (fixture: string) => dictionaries.get(fixture) ?? "";

/**
 * The columns the round trip compares: every column but the one the engine
 * deliberately does not keep (Matrix Ranking), which must instead be in the
 * import report wherever it is set.
 */
const COMPARED: Column[] = [
  "Variable / Field Name",
  "Form Name",
  "Section Header",
  "Field Type",
  "Field Label",
  "Choices, Calculations, OR Slider Labels",
  "Field Note",
  "Text Validation Type OR Show Slider Number",
  "Text Validation Min",
  "Text Validation Max",
  "Identifier?",
  "Branching Logic (Show field only if...)",
  "Required Field?",
  "Custom Alignment",
  "Question Number (surveys only)",
  "Matrix Group Name",
  "Field Annotation",
];

/**
 * The differences the round trip is allowed, each with its reason; any other
 * difference fails, and so does an exception that no longer happens.
 */
const EXCEPTIONS: { dictionary: string; field: string; column: Column; why: string }[] = [
  {
    dictionary: "redcapr-file-repo",
    field: "consent_01",
    column: "Field Label",
    why: "a descriptive field without a label (REDCap shows an attachment the dictionary does not carry): every engine field has a title, so it takes the field's name, reported as an error on import",
  },
  {
    dictionary: "redcapr-vignette-repeating-write",
    field: "unique_birth_month",
    column: "Field Annotation",
    why: "the source closes one parenthesis more than its @CALCTEXT( opens: the stray `)` is kept verbatim in the annotation and written back after the tag with a space between",
  },
];

/** One CSV line of 18 cells, quoted the way REDCap quotes them. */
const csvRow = (cells: string[]) =>
  `${[...cells, ...Array(18 - cells.length).fill("")].map((c) => `"${c.replace(/"/g, '""')}"`).join(",")}\n`;

const space = (s: string) => s.replace(/\s+/g, " ").trim();

/**
 * The tags the engine reads into keywords are written back in a fixed order
 * after the rest (REDCap does not care where a tag stands): sorted, at the
 * end; an argument in double or single quotes means the same, in single ones.
 */
const MAPPED_TAGS = new Set([
  "@CHARLIMIT",
  "@HIDDEN",
  "@READONLY",
  "@DEFAULT",
  "@SETVALUE",
  "@TODAY",
  "@NOW",
  "@NONEOFTHEABOVE",
]);
/** `@CALCTEXT(…)` / `@CALCDATE(…)` hold REDCap logic: compared as logic, like a calculation. */
function calcTagSpelling(v: string): string {
  let out = v;
  for (const m of v.matchAll(/@CALC(TEXT|DATE)\(/g)) {
    const open = (m.index ?? 0) + m[0].length;
    let depth = 1;
    let i = open;
    for (; i < v.length && depth > 0; i++) depth += v[i] === "(" ? 1 : v[i] === ")" ? -1 : 0;
    const inner = v.slice(open, i - 1);
    const logic = m[1] === "DATE" ? inner : (normalizeRedcap(inner) ?? inner);
    out = out.replace(`${m[0]}${inner})`, `${m[0]}${space(logic)})`);
  }
  return out;
}

function annotationSpelling(raw: string): string {
  const v = calcTagSpelling(raw);
  const quoted = (t: FoundTag) => (t.value === undefined ? t.tag : `${t.tag}='${t.value}'`);
  const mapped = findTags(v).filter((t) => MAPPED_TAGS.has(t.tag));
  const rest = space(withoutTags(v, mapped)).replace(/(@[A-Z][A-Z0-9_-]*)\s*=\s*"([^"']*)"/g, "$1='$2'");
  return space([rest, ...mapped.map(quoted).sort()].join(" "));
}

/** One spelling per value, for REDCap's equivalent spellings of a cell. */
function normalise(column: Column, value: string, row: Row): string {
  const v = space(value);
  const type = space(row["Field Type"]).toLowerCase();
  switch (column) {
    case "Field Type":
      return v.toLowerCase();
    case "Identifier?":
    case "Required Field?":
      return /^(y|yes|1)$/i.test(v) ? "y" : "";
    case "Branching Logic (Show field only if...)":
      return v === "" ? "" : (normalizeRedcap(v) ?? `unreadable: ${v}`);
    case "Choices, Calculations, OR Slider Labels":
      if (type === "calc") return normalizeRedcap(v) ?? `unreadable: ${v}`;
      if (type === "slider") return v.split("|").map(space).join(" | ");
      if (type === "radio" || type === "dropdown" || type === "checkbox") {
        return JSON.stringify(
          v
            .split("|")
            .map(space)
            .filter((c) => c !== "")
            .map((c) => [space(c.slice(0, c.indexOf(","))), space(c.slice(c.indexOf(",") + 1))]),
        );
      }
      return v;
    case "Text Validation Min":
    case "Text Validation Max": {
      const n = v.replace(",", ".");
      return /^-?\d+(\.\d+)?$/.test(n) ? String(Number(n)) : v;
    }
    case "Field Annotation":
      return annotationSpelling(v);
    default:
      return v;
  }
}

function roundTrip(result: ImportResult): Row[] {
  return readRows(
    exportDictionary(result.instruments, {
      recordIdField: result.recordIdField,
      recordIdLabel: result.recordId?.label,
      recordIdForm: result.recordId?.form,
      formOrder: result.formOrder,
    }),
  ).rows;
}

const reported = (r: ImportResult, field: string, column: Column | "", severity?: "error" | "warning") =>
  r.report.some(
    (i) =>
      i.field === field && (column === "" || i.column === column) && (!severity || i.severity === severity),
  );

describe("REDCap dictionary → instruments → REDCap dictionary", () => {
  it("compares every column but Matrix Ranking", () => {
    expect([...COMPARED, ...DROPPED_COLUMNS].sort()).toEqual([...COLUMNS].sort());
    expect(DROPPED_COLUMNS).toEqual(["Matrix Ranking?"]);
  });

  for (const fixture of fixtures) {
    it(`keeps ${fixture} row by row and column by column, and reports the rest`, () => {
      const text = read(fixture);
      const original = readRows(text).rows;
      const result = importDictionary(text);
      const back = roundTrip(result);
      const byName = new Map(back.map((r) => [r["Variable / Field Name"], r]));

      // REDCap's record id comes back first, as it was; a file whose first
      // field is no text field is an instrument without one, every row a field
      const [first] = original as [Row, ...Row[]];
      const rest = result.recordId ? original.slice(1) : original;
      if (result.recordId) {
        for (const column of ["Variable / Field Name", "Form Name", "Field Type", "Field Label"] as const)
          expect(back[0]?.[column], `record id [${column}]`).toBe(first[column]);
      }

      const differences: string[] = [];
      const unused = new Set(EXCEPTIONS.filter((e) => e.dictionary === fixture));
      for (const row of rest) {
        const name = row["Variable / Field Name"];
        const again = byName.get(name);
        if (!again) {
          // not imported: must be an error in the report, with the reason
          expect(reported(result, name, "Field Type", "error"), `${name} dropped without a report`).toBe(
            true,
          );
          continue;
        }
        for (const column of COMPARED) {
          const a = normalise(column, row[column], row);
          const b = normalise(column, again[column], again);
          if (a === b) continue;
          const excused = EXCEPTIONS.find(
            (e) => e.dictionary === fixture && e.field === name && e.column === column,
          );
          if (excused) {
            unused.delete(excused);
            // an excused difference is reported on import, so the user sees it too
            expect(reported(result, name, column), `${name} [${column}] not in the report`).toBe(true);
          } else differences.push(`${name} [${column}]: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
        }
        for (const column of DROPPED_COLUMNS) {
          if (row[column].trim() !== "") {
            expect(reported(result, name, column, "warning"), `${name} [${column}] not reported`).toBe(true);
          }
        }
      }
      expect(differences).toEqual([]);
      // an exception that no longer happens is taken out of the table
      expect([...unused]).toEqual([]);
      // the exported rows keep the dictionary's order
      const order = rest.map((r) => r["Variable / Field Name"]).filter((n) => byName.has(n));
      expect(back.slice(result.recordId ? 1 : 0).map((r) => r["Variable / Field Name"])).toEqual(order);
    });
  }

  it("reports sql fields as not imported, by field; imports file and signature fields", () => {
    const r = importDictionary(read("redcapr-validation-types-1"));
    const errors = r.report.filter((i) => i.severity === "error").map((i) => `${i.field} [${i.column}]`);
    expect(errors).toEqual(["f_sql [Field Type]"]);
    expect(r.instruments.form_1?.properties.f_sql).toBeUndefined();
    expect(r.instruments.form_1?.properties.f_file_upload).toMatchObject({ type: "object", "x-file": {} });
    expect(r.instruments.form_1?.properties.f_file_upload?.["x-widget"]).toBeUndefined();
    expect(r.instruments.form_1?.properties.f_signature).toMatchObject({
      type: "object",
      "x-widget": "signature",
      "x-file": {},
    });
  });

  it("reports validations the engine keeps but does not enforce, and action tags it does not act on", () => {
    const r = importDictionary(read("redcap-cypress-project1"));
    expect(reported(r, "phone_north_america", "Text Validation Type OR Show Slider Number", "warning")).toBe(
      true,
    );
    expect(reported(r, "datetime_ymd_hm", "Text Validation Min", "warning")).toBe(true);
    // @DEFAULT="[name]" pipes a value: kept in x-annotation and reported; a plain @DEFAULT is mapped.
    expect(reported(r, "ptname", "Field Annotation", "warning")).toBe(true);
    expect(reported(r, "name", "Field Annotation", "warning")).toBe(false);
    const f = r.instruments.data_types?.properties;
    // REDCap date-times have no zone: a local date-time, datetime_ymd its canonical validation.
    expect(f?.datetime_ymd_hm).toMatchObject({
      format: "local-date-time",
      "x-text-validation-min": "2023-08-01 01:01",
    });
    expect(f?.datetime_ymd_hm?.["x-text-validation"]).toBeUndefined();
    expect(f?.datetime_ymd_hmss).toMatchObject({
      format: "local-date-time",
      "x-text-validation": "datetime_seconds_ymd",
    });
    // REDCap's min/max only warn: they become the soft range.
    expect(f?.number_1_comma).toMatchObject({ type: "number", "x-soft-minimum": 0, "x-soft-maximum": 3 });
    expect(f?.radio?.oneOf?.[0]).toEqual({ const: "9..9", title: "Choice99" });
    expect(f?.descriptive_text).toEqual({
      type: "null",
      title: "Descriptive Text",
      "x-widget": "descriptive",
    });
  });
});

describe("importing a REDCap dictionary", () => {
  it("returns the record id, the forms in order and one instrument per form", () => {
    const r = importDictionary(read("redcapr-longitudinal"));
    expect(r.recordIdField).toBe("study_id");
    expect(r.recordId).toEqual({ field: "study_id", form: "demographics", label: "Study ID" });
    expect(r.formOrder).toEqual([
      "demographics",
      "contact_info",
      "baseline_data",
      "visit_lab_data",
      "patient_morale_questionnaire",
      "visit_blood_workup",
      "visit_observed_behavior",
      "completion_data",
      "completion_project_questionnaire",
    ]);
    expect(Object.keys(r.instruments)).toEqual(r.formOrder);
    expect(r.instruments.demographics?.properties.study_id).toBeUndefined();
    const demographics = r.instruments.demographics?.properties;
    expect(demographics?.num_children).toEqual({
      type: "integer",
      title: "How many times has the patient given birth?",
      "x-soft-minimum": 0,
      "x-visible-if": {
        and: [{ "==": [{ var: "sex" }, 0] }, { "==": [{ var: "given_birth" }, true] }],
      },
    });
    expect(demographics?.gym).toMatchObject({
      type: "array",
      uniqueItems: true,
      "x-matrix": "weekly_schedule",
    });
    expect(demographics?.specify_mood).toEqual({
      type: "integer",
      title: "Specify the patient's mood",
      minimum: 0,
      maximum: 100,
      "x-widget": "slider",
      "x-section": "Other information",
      "x-slider": { labels: ["Very sad", "Indifferent", "Very happy"] },
      // REDCap's custom alignment (label right, horizontal) is kept and exported back.
      "x-align": "RH",
    });
  });

  it("keeps a form that holds only the record id out of the instruments, and says so", () => {
    const header = COLUMNS.map((c) => `"${c}"`).join(",");
    const r = importDictionary(
      `${header}\nrecord_id,record_id,,text,"Record ID",,,,,,,,,,,,,\nage,visit,,text,Age,,,integer,0,120,,,,,,,,\n`,
    );
    expect(r.recordId).toEqual({ field: "record_id", form: "record_id", label: "Record ID" });
    expect(r.instruments.record_id).toBeUndefined();
    expect(r.formOrder[0]).toBe("record_id");
    expect(r.report.some((i) => i.form === "record_id" && i.field === "" && i.severity === "warning")).toBe(
      true,
    );
  });

  it("reads REDCap's API headers, a byte-order mark and CRLF line ends", () => {
    const api =
      "\ufefffield_name,form_name,section_header,field_type,field_label,select_choices_or_calculations,field_note,text_validation_type_or_show_slider_number,text_validation_min,text_validation_max,identifier,branching_logic,required_field,custom_alignment,question_number,matrix_group_name,matrix_ranking,field_annotation\r\n" +
      "record_id,f,,text,Record ID,,,,,,,,,,,,,\r\n" +
      "a,f,,yesno,A?,,,,,,,,y,,,,,\r\n" +
      "b,f,,text,B,,,,,,,[a] = '1',,,,,,\r\n";
    const r = importDictionary(api);
    expect(r.report).toEqual([]);
    expect(r.instruments.f?.required).toEqual(["a"]);
    expect(r.instruments.f?.properties.b?.["x-visible-if"]).toEqual({ "==": [{ var: "a" }, true] });
  });

  it("reads a dictionary from an older REDCap without the annotation column, and ignores extra columns", () => {
    const text =
      '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label","Choices, Calculations, OR Slider Labels","Field Note","Text Validation Type OR Show Slider Number","Text Validation Min","Text Validation Max","Identifier?","Branching Logic (Show field only if...)","Required Field?","Custom Alignment","Question Number (surveys only)","Matrix Group Name","Matrix Ranking?",Extra\n' +
      "record_id,f,,text,Record ID,,,,,,,,,,,,,x\n" +
      "a,f,,text,A,,,integer,0,10,,,,,,,,x\n";
    const r = importDictionary(text);
    expect(r.instruments.f?.properties.a).toEqual({
      type: "integer",
      title: "A",
      "x-soft-minimum": 0,
      "x-soft-maximum": 10,
    });
    expect(r.report.map((i) => [i.severity, i.message])).toEqual([
      ["warning", 'column "Field Annotation" is missing: read as empty'],
      ["warning", 'unknown column "Extra" is ignored'],
    ]);
  });

  it("refuses a file that is not a data dictionary, saying why", () => {
    const r = importDictionary("name,age\nx,1\n");
    expect(r.instruments).toEqual({});
    expect(r.report[0]).toMatchObject({ severity: "error", field: "" });
    expect(r.report[0]?.message).toMatch(/Variable \/ Field Name/);
  });

  it("reports a duplicate field, an invalid name and logic it cannot translate, by field and column", () => {
    const header = `${COLUMNS.map((c) => JSON.stringify(c)).join(",")}\n`;
    const row = csvRow;
    const text =
      header +
      row(["record_id", "f", "", "text", "Record ID"]) +
      row(["a", "f", "", "text", "A", "", "", "date_ymd"]) +
      row(["a", "f", "", "text", "A again"]) +
      row(["Bad-Name", "f", "", "text", "B"]) +
      row(["c", "f", "", "text", "C", "", "", "", "", "", "", "exponential([c]) > 2"]) +
      row(["d", "f", "", "calc", "D", "exponential([a])"]) +
      row(["e", "f", "", "text", "E", "", "", "", "", "", "", "[z] = '1'"]);
    const r = importDictionary(text);
    const errors = r.report.filter((i) => i.severity === "error").map((i) => [i.field, i.column, i.message]);
    expect(errors).toEqual([
      ["a", "Variable / Field Name", expect.stringMatching(/appears twice/)],
      ["Bad-Name", "Variable / Field Name", expect.stringMatching(/not a valid field name/)],
      [
        "c",
        "Branching Logic (Show field only if...)",
        expect.stringMatching(/exponential\(\) has no JSON Logic equivalent/),
      ],
      ["d", "Choices, Calculations, OR Slider Labels", expect.stringMatching(/kept read-only and empty/)],
      ["e", "Branching Logic (Show field only if...)", expect.stringMatching(/"z" is not a field/)],
    ]);
    expect(r.instruments.f?.properties.c?.["x-visible-if"]).toBeUndefined();
  });

  it("keeps a calculation it cannot translate read-only, with its REDCap text, and exports it back unchanged", () => {
    const header = `${COLUMNS.map((c) => JSON.stringify(c)).join(",")}\n`;
    const calc = "exponential([a]) + [b]";
    const text =
      header +
      csvRow(["record_id", "f", "", "text", "Record ID"]) +
      csvRow(["a", "f", "", "text", "A", "", "", "number"]) +
      csvRow(["b", "f", "", "text", "B", "", "", "number"]) +
      csvRow(["d", "f", "", "calc", "D", calc]) +
      csvRow(["dob", "f", "", "text", "DOB", "", "", "date_ymd"]) +
      csvRow(["e", "f", "", "calc", "E", "datediff([dob], 'today', 'y')"]);
    const r = importDictionary(text);
    const d = r.instruments.f?.properties.d;
    expect(d).toMatchObject({ readOnly: true, "x-calc-redcap": calc });
    expect(d?.["x-calc"]).toBeUndefined();
    // 'today' translates now: no longer an untranslated calculation
    expect(r.instruments.f?.properties.e?.["x-calc"]).toBeDefined();
    expect(r.report.filter((i) => i.message.startsWith("engine check:"))).toEqual([]);
    const back = roundTrip(r);
    const row = back.find((x) => x["Variable / Field Name"] === "d");
    expect(row?.["Field Type"]).toBe("calc");
    expect(row?.["Choices, Calculations, OR Slider Labels"]).toBe(calc);
    expect(row?.["Field Annotation"]).toBe("");
  });

  it("keeps branching logic it cannot translate with its REDCap text, the field always shown, and exports it back unchanged", () => {
    const header = `${COLUMNS.map((c) => JSON.stringify(c)).join(",")}\n`;
    const branching = "exponential([a]) > 2";
    const text =
      header +
      csvRow(["record_id", "f", "", "text", "Record ID"]) +
      csvRow(["a", "f", "", "text", "A", "", "", "number"]) +
      csvRow(["c", "f", "", "text", "C", "", "", "", "", "", "", branching]) +
      csvRow(["d", "f", "", "descriptive", "D", "", "", "", "", "", "", "[z] = '1'"]);
    const r = importDictionary(text);
    const f = r.instruments.f?.properties;
    expect(f?.c).toMatchObject({ "x-visible-if-redcap": branching });
    expect(f?.c?.["x-visible-if"]).toBeUndefined();
    expect(f?.d).toMatchObject({ "x-visible-if-redcap": "[z] = '1'" });
    expect(reported(r, "c", "Branching Logic (Show field only if...)", "error")).toBe(true);
    expect(r.report.filter((i) => i.message.startsWith("engine check:"))).toEqual([]);
    const back = roundTrip(r);
    const logic = (name: string) =>
      back.find((x) => x["Variable / Field Name"] === name)?.["Branching Logic (Show field only if...)"];
    expect(logic("c")).toBe(branching);
    expect(logic("d")).toBe("[z] = '1'");
  });

  it("puts what the engine's own check refuses in the report too", () => {
    const header = `${COLUMNS.map((c) => JSON.stringify(c)).join(",")}\n`;
    const row = csvRow;
    // REDCap allows branching on a field further down; the engine does not
    const text =
      header +
      row(["record_id", "f", "", "text", "Record ID"]) +
      row(["a", "f", "", "text", "A", "", "", "", "", "", "", "[b] = '1'"]) +
      row(["b", "f", "", "yesno", "B"]) +
      row(["c", "f", "", "radio", "C", "1, Same | 2, same"]);
    const r = importDictionary(text);
    const engine = r.report
      .filter((i) => i.message.startsWith("engine check:"))
      .map((i) => [i.field, i.column]);
    expect(engine).toEqual([
      ["a", "Branching Logic (Show field only if...)"],
      ["c", "Choices, Calculations, OR Slider Labels"],
    ]);
  });
});

describe("an imported dictionary placed with a study file", () => {
  for (const fixture of fixtures) {
    it(`passes the definition check, or each failure is in the report (${fixture})`, () => {
      const r = importDictionary(read(fixture));
      const ids = Object.keys(r.instruments);
      const dated = ids.flatMap((id) =>
        Object.entries(r.instruments[id]?.properties ?? {})
          .filter(([, s]) => s.format === "date")
          .map(([field]) => ({ form: id, field })),
      );
      const dayOne = dated[0];
      const study: StudyFile = {
        id: fixture.replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""),
        title: `Imported from ${fixture}`,
        arms: [{ id: "arm_1", label: "Arm 1" }],
        sites: [{ id: "site-1", name: "Site 1", code: "01" }],
        subjectIdPattern: "^[0-9]+$",
        // a dictionary without a date field gives a study without a day one
        ...(dayOne && { dayOne: { event: "baseline", form: dayOne.form, field: dayOne.field } }),
        events: [{ id: "baseline", label: "Baseline", day: 1, forms: ids }],
        logs: [],
      };
      const { errors } = checkDefinition({
        study: { path: "study.json", json: study },
        instruments: ids.map((id) => ({
          path: `instruments/${id}.json`,
          json: r.instruments[id] as Instrument,
        })),
      });
      for (const e of errors) {
        const form = e.file.replace(/^instruments\/|\.json$/g, "");
        const field = e.pointer.split("/")[2] ?? "";
        expect(
          r.report.some(
            (i) => i.severity === "error" && i.form === form && (field === "" || i.field === field),
          ),
          `${e.file}#${e.pointer}: ${e.message} is not in the report`,
        ).toBe(true);
      }
      expect(errors).toEqual([]);
    });
  }
});
