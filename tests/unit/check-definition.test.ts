import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { beforeAll, describe, expect, it } from "vitest";
import { loadDefinition, readFormsDirectory } from "../../functions/definition-files.ts";
import { checkDefinition, type DefinitionFiles } from "../../functions/engine/check-definition.ts";
import type { FormData, Instrument, StudyDefinition, StudyFile } from "../../functions/engine/definition.ts";
import { formOrder } from "../../functions/engine/form-order.ts";
import { evaluate, isEmpty, logicVariables } from "../../functions/engine/logic.ts";
import { ENGINE_KEYWORDS } from "../../functions/engine/meta/instrument-schema.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FORMS = path.join(ROOT, "forms");
const EXAMPLES = path.join(ROOT, "tests/fixtures/examples");

let shipped: DefinitionFiles;

beforeAll(async () => {
  const read = await readFormsDirectory(FORMS);
  expect(read.errors).toEqual([]);
  if (!read.files) throw new Error("forms/ could not be read");
  shipped = read.files;
});

const idOf = (file: string) => path.basename(file, ".json");

type Json = any;

/** A deep copy of the shipped files with one mutation applied. */
function variant(mutate: (study: Json, instruments: Record<string, Json>) => void): DefinitionFiles {
  const files = structuredClone(shipped);
  const byId = Object.fromEntries(files.instruments.map((f) => [idOf(f.path), f.json]));
  mutate(files.study.json, byId);
  return files;
}

function fileOf(id: string): string {
  if (id === "study") return shipped.study.path;
  const file = shipped.instruments.find((f) => idOf(f.path) === id);
  if (!file) throw new Error(`no instrument ${id}`);
  return file.path;
}

function expectError(files: DefinitionFiles, id: string, pointer: string, message?: string | RegExp) {
  const { definition, errors } = checkDefinition(files);
  expect(definition).toBeUndefined();
  const match = errors.find((e) => e.file === fileOf(id) && e.pointer === pointer);
  expect(
    match,
    `no error at ${fileOf(id)}#${pointer}; got:\n${JSON.stringify(errors, null, 2)}`,
  ).toBeDefined();
  if (message !== undefined) expect(match?.message).toMatch(message);
  return errors;
}

describe("the shipped forms/", () => {
  it("pass with zero errors and bundle as version 0", () => {
    const { definition, errors } = checkDefinition(shipped);
    expect(errors).toEqual([]);
    expect(definition?.version).toBe(0);
    expect(definition?.study.id).toBe("hucmsc-ms-nmo");
    expect(Object.keys(definition?.instruments ?? {}).sort()).toEqual(
      [
        "adverse_event",
        "con_med",
        "consent",
        "demographics",
        "diagnosis",
        "edss",
        "eligibility",
        "end_of_study",
        "infusion",
        "labs",
        "mri",
        "relapse",
        "tumour_surveillance",
        "unscheduled_visit",
        "vital_signs",
      ].sort(),
    );
  });

  it("follow the reference schedule", () => {
    const study = shipped.study.json as StudyFile;
    const day = Object.fromEntries(study.events.map((e) => [e.id, e.day]));
    expect(day).toMatchObject({
      screening: -1,
      iv_1: 1,
      it_1: 4,
      iv_2: 8,
      it_2: 11,
      iv_3: 15,
      it_3: 18,
      iv_4: 21,
    });
    expect(day).toMatchObject({ m3: 90, m6: 180, m9: 270, m12: 365, y2: 730, y10: 3650 });
    expect(study.events.find((e) => e.id === "screening")?.window).toEqual({ before: 27, after: 0 });
    expect(study.events.find((e) => e.id === "unscheduled")).toMatchObject({ repeatable: true });
    expect(study.logs).toEqual(["adverse_event", "relapse", "con_med"]);
  });

  it("offer exactly the valid EDSS steps", () => {
    const edss = shipped.instruments.find((f) => idOf(f.path) === "edss")?.json as Instrument;
    const values = edss.properties.edss_total?.enum;
    expect(values).toHaveLength(20);
    expect(values).not.toContain(0.5);
    expect(values).toEqual([0, ...Array.from({ length: 19 }, (_, i) => 1 + i / 2)]);
  });

  it("loadDefinition returns the checked definition", async () => {
    const definition = await loadDefinition(FORMS);
    expect(definition.version).toBe(0);
    expect(definition.study.dayOne).toEqual({ event: "iv_1", form: "infusion", field: "infusion_date" });
  });
});

describe("meta-schema errors", () => {
  it("a typo'd annotation is an unknown property with a suggestion", () => {
    const files = variant((_, i) => {
      const field = i.diagnosis.properties.aqp4_igg;
      field["x-visble-if"] = field["x-visible-if"];
      delete field["x-visible-if"];
    });
    expectError(
      files,
      "diagnosis",
      "/properties/aqp4_igg/x-visble-if",
      /unknown property "x-visble-if".*did you mean "x-visible-if"/,
    );
  });

  it("a typo'd JSON Schema keyword is an error too", () => {
    const files = variant((_, i) => {
      i.vital_signs.properties.temperature.minimun = 34;
    });
    expectError(files, "vital_signs", "/properties/temperature/minimun", /did you mean "minimum"/);
  });

  it("annotation values are typed", () => {
    const files = variant((_, i) => {
      i.demographics.properties.sex["x-widget"] = "dropdown";
      i.demographics.properties.initials["x-identifier"] = "yes";
    });
    const errors = expectError(
      files,
      "demographics",
      "/properties/sex/x-widget",
      /"x-widget" must be one of "text"/,
    );
    expect(errors).toContainEqual(
      expect.objectContaining({
        pointer: "/properties/initials/x-identifier",
        message: expect.stringMatching(/boolean/),
      }),
    );
  });

  it("field names are lowercase snake_case", () => {
    const files = variant((_, i) => {
      i.labs.properties.Platelet_Count = i.labs.properties.platelets;
    });
    expectError(files, "labs", "/properties/Platelet_Count", /invalid field name/);
  });

  it("the study file is closed too", () => {
    const files = variant((s) => {
      s.events[1].windows = s.events[1].window;
    });
    expectError(files, "study", "/events/1/windows", /did you mean "window"/);
  });

  it("missing required keys are reported at their parent", () => {
    const files = variant((s) => {
      delete s.dayOne.field;
    });
    expectError(files, "study", "/dayOne", /missing required property "field"/);
  });
});

describe("semantic errors", () => {
  it("an unknown variable in x-visible-if", () => {
    const files = variant((_, i) => {
      i.diagnosis.properties.aqp4_igg["x-visible-if"] = { "==": [{ var: "diagnosys" }, "nmosd"] };
    });
    expectError(
      files,
      "diagnosis",
      "/properties/aqp4_igg/x-visible-if/==/0/var",
      /"diagnosys" is not a field.*"diagnosis"/,
    );
  });

  it("an unknown context variable", () => {
    const files = variant((_, i) => {
      i.mri.properties.new_enlarging_t2["x-visible-if"] = { "!=": [{ var: "$visit" }, "screening"] };
    });
    expectError(
      files,
      "mri",
      "/properties/new_enlarging_t2/x-visible-if/!=/0/var",
      /unknown context variable/,
    );
  });

  it("the schedule's and the instance's context variables are plain values", () => {
    const ok = variant((_, i) => {
      i.mri.properties.new_enlarging_t2["x-visible-if"] = {
        and: [{ "==": [{ var: "$previousEvent" }, "screening"] }, { "==": [{ var: "$instance" }, 1] }],
      };
    });
    expect(checkDefinition(ok).errors).toEqual([]);
    const files = variant((_, i) => {
      i.mri.properties.new_enlarging_t2["x-visible-if"] = { "==": [{ var: "$nextEvent.id" }, "m6"] };
    });
    expectError(files, "mri", "/properties/new_enlarging_t2/x-visible-if/==/0/var", /plain value/);
  });

  it("date_add's unit and checked's choices are checked where they are written", () => {
    const files = variant((_, i) => {
      i.mri.properties.new_enlarging_t2["x-visible-if"] = {
        and: [{ date_add: [{ var: "scan_date" }, 1, "q"] }, { checked: [{ var: "scan_date" }, [["a"]]] }],
      };
    });
    const errors = expectError(
      files,
      "mri",
      "/properties/new_enlarging_t2/x-visible-if/and/0/date_add/2",
      /unit "q"/,
    );
    expect(errors.map((e) => e.pointer)).toContain(
      "/properties/new_enlarging_t2/x-visible-if/and/1/checked/1",
    );
  });

  it("branching may only read fields that come before", () => {
    const files = variant((_, i) => {
      i.mri.properties.scan_date["x-visible-if"] = { "==": [{ var: "contrast_given" }, true] };
    });
    expectError(files, "mri", "/properties/scan_date/x-visible-if/==/0/var", /comes after it/);
  });

  it("an event referencing a missing form", () => {
    const files = variant((s) => {
      s.events[0].forms.push("quality_of_life");
    });
    expectError(files, "study", "/events/0/forms/8", /no instrument "quality_of_life"/);
  });

  it("a duplicate choice code", () => {
    const files = variant((_, i) => {
      i.mri.properties.field_strength.oneOf[1].const = "1_5t";
    });
    expectError(files, "mri", "/properties/field_strength/oneOf/1/const", /duplicate choice code "1_5t"/);
  });

  it("a choice code that does not match the field's type", () => {
    const files = variant((_, i) => {
      i.adverse_event.properties.ctcae_grade.oneOf[0].const = "1";
      i.adverse_event.properties.sae_criteria.items.oneOf[2].const = 3;
    });
    const errors = expectError(
      files,
      "adverse_event",
      "/properties/ctcae_grade/oneOf/0/const",
      /not of the field's type integer/,
    );
    expect(errors.map((e) => e.pointer)).toContain("/properties/sae_criteria/items/oneOf/2/const");
  });

  it("a pattern that does not compile", () => {
    const files = variant((s, i) => {
      i.demographics.properties.initials.pattern = "^[A-Z{2,3}$";
      s.subjectIdPattern = "^([0-9]{2}-[0-9]{3}$";
    });
    const errors = expectError(files, "demographics", "/properties/initials/pattern", /does not compile/);
    expect(errors).toContainEqual(
      expect.objectContaining({ file: fileOf("study"), pointer: "/subjectIdPattern" }),
    );
  });

  it("x-format on a field without a pattern", () => {
    const files = variant((_, i) => {
      delete i.demographics.properties.initials.pattern;
    });
    expectError(files, "demographics", "/properties/initials/x-format", /describes a pattern/);
  });

  it("a calculated field that is not readOnly", () => {
    const files = variant((_, i) => {
      delete i.infusion.properties.dose_per_kg.readOnly;
    });
    expectError(files, "infusion", "/properties/dose_per_kg", /must be "readOnly": true/);
  });

  it("a REDCap calculation kept untranslated: read-only, and never beside x-calc", () => {
    const both = variant((_, i) => {
      i.infusion.properties.dose_per_kg["x-calc-redcap"] = "exponential([dose])";
    });
    expectError(both, "infusion", "/properties/dose_per_kg/x-calc-redcap", /has a calculation already/);
    const editable = variant((_, i) => {
      const field = i.infusion.properties.dose_per_kg;
      delete field["x-calc"];
      delete field.readOnly;
      field["x-calc-redcap"] = "exponential([dose])";
    });
    expectError(editable, "infusion", "/properties/dose_per_kg/x-calc-redcap", /must be "readOnly": true/);
    const kept = variant((_, i) => {
      delete i.infusion.properties.dose_per_kg["x-calc"];
      i.infusion.properties.dose_per_kg["x-calc-redcap"] = "exponential([dose])";
    });
    expect(checkDefinition(kept).errors).toEqual([]);
  });

  it("REDCap branching logic kept untranslated: never beside x-visible-if", () => {
    const both = variant((_, i) => {
      i.infusion.properties.csf_volume_ml["x-visible-if-redcap"] = "exponential([dose]) > 2";
    });
    expectError(
      both,
      "infusion",
      "/properties/csf_volume_ml/x-visible-if-redcap",
      /has branching logic already/,
    );
    const kept = variant((_, i) => {
      delete i.infusion.properties.csf_volume_ml["x-visible-if"];
      i.infusion.properties.csf_volume_ml["x-visible-if-redcap"] = "exponential([dose]) > 2";
    });
    expect(checkDefinition(kept).errors).toEqual([]);
  });

  it("an unknown JSON Logic operator", () => {
    const files = variant((_, i) => {
      i.infusion.properties.dose_per_kg["x-calc"] = { roud: [{ var: "dose_cells" }, 2] };
    });
    expectError(
      files,
      "infusion",
      "/properties/dose_per_kg/x-calc/roud",
      /unknown JSON Logic operator "roud".*"round"/,
    );
  });

  it("$latest naming a missing field or form", () => {
    const files = variant((_, i) => {
      i.infusion.properties.dose_per_kg["x-calc"] = {
        "/": [
          { var: "dose_cells" },
          { or: [{ var: "$latest.vital_signs.wieght" }, { var: "$latest.demographic.weight" }] },
        ],
      };
    });
    const errors = expectError(
      files,
      "infusion",
      "/properties/dose_per_kg/x-calc/~1/1/or/0/var",
      /instrument "vital_signs" has no field "wieght".*"weight"/,
    );
    expect(errors).toContainEqual(
      expect.objectContaining({
        pointer: "/properties/dose_per_kg/x-calc/~1/1/or/1/var",
        message: expect.stringMatching(/no instrument "demographic".*"demographics"/),
      }),
    );
  });

  it("an unknown variable in an x-rules entry, and a rule on a missing field", () => {
    const files = variant((_, i) => {
      i.adverse_event["x-rules"][0].logic = {
        ">=": [{ datediff: [{ var: "onset" }, { var: "end_date" }, "days"] }, 0],
      };
      i.adverse_event["x-rules"][0].field = "stop_date";
    });
    const errors = expectError(
      files,
      "adverse_event",
      "/x-rules/0/logic/>=/0/datediff/0/var",
      /"onset" is not a field/,
    );
    const pointers = errors.map((e) => e.pointer);
    expect(pointers).toContain("/x-rules/0/logic/>=/0/datediff/2");
    expect(pointers).toContain("/x-rules/0/field");
  });

  it("vars inside map/filter/some are not form fields", () => {
    const files = variant((_, i) => {
      i.diagnosis["x-rules"][2].logic = { some: [{ var: "prior_dmtt" }, { "==": [{ var: "" }, "none"] }] };
    });
    const { errors } = checkDefinition(files);
    expect(errors.map((e) => e.pointer)).toEqual(["/x-rules/2/logic/some/0/var"]);
  });

  it("required naming a missing property", () => {
    const files = variant((_, i) => {
      i.consent.required.push("consent_time");
    });
    expectError(files, "consent", "/required/3", /"consent_time" is not a property/);
  });

  it("$id must match the file name", () => {
    const files = variant((_, i) => {
      i.labs.$id = "laboratory";
    });
    expectError(files, "labs", "/$id", /must match/);
  });

  it("keywords must fit the field type", () => {
    const files = variant((_, i) => {
      i.vital_signs.properties.heart_rate.format = "date";
      i.vital_signs.properties.vs_date["x-unit"] = "day";
    });
    const errors = expectError(
      files,
      "vital_signs",
      "/properties/heart_rate/format",
      /does not apply to a field of type integer/,
    );
    expect(errors.map((e) => e.pointer)).toContain("/properties/vs_date/x-unit");
  });

  it("a log must be x-repeating, and an x-repeating instrument only a log or in a repeatable event", () => {
    const files = variant((s, i) => {
      delete i.con_med["x-repeating"];
      s.events.find((e: { id: string }) => e.id === "m3").forms.push("tumour_surveillance");
      i.tumour_surveillance["x-repeating"] = true;
    });
    expectError(files, "study", "/logs/2", /must be an x-repeating instrument/);
    const m3 = (shipped.study.json as StudyFile).events.findIndex((e) => e.id === "m3");
    expectError(files, "study", `/events/${m3}/forms/4`, /x-repeating/);
  });

  it("an x-repeating instrument nobody uses as a log", () => {
    const files = variant((s) => {
      s.logs = ["adverse_event", "relapse"];
    });
    expectError(files, "con_med", "/x-repeating", /neither in the study's logs/);
  });

  it("an x-repeating instrument may repeat at a non-repeatable event through its repeatingForms", () => {
    const files = variant((s, i) => {
      const m3 = s.events.find((e: { id: string }) => e.id === "m3");
      m3.forms.push("tumour_surveillance");
      m3.repeatingForms = ["tumour_surveillance"];
      i.tumour_surveillance["x-repeating"] = true;
      for (const e of s.events)
        if (e.id !== "m3") e.forms = e.forms.filter((f: string) => f !== "tumour_surveillance");
    });
    expect(checkDefinition(files).errors).toEqual([]);
  });

  it("an x-repeating instrument used only in an event's repeatingForms is used", () => {
    const files = variant((s) => {
      s.logs = ["adverse_event", "relapse"];
      const m3 = s.events.find((e: { id: string }) => e.id === "m3");
      m3.forms.push("con_med");
      m3.repeatingForms = ["con_med"];
    });
    expect(checkDefinition(files).errors).toEqual([]);
  });

  it("repeatingForms are forms of the event, not logs, and pointless on a repeatable event", () => {
    const events = (shipped.study.json as StudyFile).events;
    const m3 = events.findIndex((e) => e.id === "m3");
    const unscheduled = events.findIndex((e) => e.id === "unscheduled");
    const files = variant((s) => {
      s.events[m3].repeatingForms = ["labs", "infusion", "con_med"];
      s.events[unscheduled].repeatingForms = ["labs"];
    });
    expectError(files, "study", `/events/${m3}/repeatingForms/1`, /"infusion" is not in the event's forms/);
    expectError(files, "study", `/events/${m3}/repeatingForms/2`, /"con_med" is a log/);
    expectError(
      files,
      "study",
      `/events/${unscheduled}/repeatingForms`,
      /repeatable event repeats all its forms/,
    );
  });

  it("armForms: arms the event occurs in, each a subset of the event's forms in their order", () => {
    const events = (shipped.study.json as StudyFile).events;
    const m3 = events.findIndex((e) => e.id === "m3");
    const files = variant((s) => {
      s.events[m3].armForms = { rrms: ["labs", "edss"], nmo: ["vital_signs", "infusion"], nmoo: ["labs"] };
      s.events[0].arms = ["rrms"];
      s.events[0].armForms = { nmo: ["consent"] };
    });
    expectError(files, "study", `/events/${m3}/armForms/rrms/1`, /"edss" is out of order/);
    expectError(files, "study", `/events/${m3}/armForms/nmo/1`, /"infusion" is not in the event's forms/);
    expectError(files, "study", `/events/${m3}/armForms/nmoo`, /unknown arm "nmoo".*"nmo"/);
    expectError(files, "study", "/events/0/armForms/nmo", /does not occur in arm "nmo"/);
  });

  it("formOrder names instruments, and leads the order exports list forms in", () => {
    const files = variant((s) => {
      s.formOrder = ["labs", "vital_sign"];
    });
    expectError(files, "study", "/formOrder/1", /no instrument "vital_sign".*"vital_signs"/);
    const study = shipped.study.json as StudyFile;
    const instruments = Object.fromEntries(
      shipped.instruments.map((f) => [path.basename(f.path, ".json"), f.json]),
    ) as StudyDefinition["instruments"];
    const order = formOrder({ study: { ...study, formOrder: ["labs", "consent"] }, instruments });
    expect(order.slice(0, 3)).toEqual(["labs", "consent", "demographics"]);
    expect(new Set(order).size).toBe(Object.keys(instruments).length);
  });

  it("an arm whose armForms leave out the dayOne form would have no day 1", () => {
    const files = variant((s) => {
      s.events.find((e: { id: string }) => e.id === "iv_1").armForms = { nmo: ["vital_signs", "labs"] };
    });
    expectError(files, "study", "/dayOne/form", /arm "nmo" does not collect "infusion"/);
  });

  it("without dayOne, a visit window is an error but a day still orders the schedule", () => {
    const files = variant((s) => {
      delete s.dayOne;
    });
    const errors = expectError(files, "study", "/events/0/window", /a visit window needs the study's dayOne/);
    expect(errors.filter((e) => e.pointer.endsWith("/day"))).toEqual([]);
    const noWindows = variant((s) => {
      delete s.dayOne;
      for (const e of s.events) delete e.window;
    });
    expect(checkDefinition(noWindows).errors).toEqual([]);
  });

  it("dayOne must point at an existing date field of a form collected at that event", () => {
    expectError(
      variant((s) => {
        s.dayOne.field = "infusion_day";
      }),
      "study",
      "/dayOne/field",
      /no field "infusion_day".*"infusion_date"/,
    );
    expectError(
      variant((s) => {
        s.dayOne.event = "it_1";
      }),
      "study",
      "/dayOne/event",
      /day 4/,
    );
    expectError(
      variant((s) => {
        s.dayOne.form = "labs";
        s.dayOne.event = "screening";
      }),
      "study",
      "/dayOne/event",
    );
  });

  it("ids and codes are unique, arms exist, days and windows are consistent", () => {
    const files = variant((s) => {
      s.sites[1].code = "01";
      s.arms[1].id = "rrms";
      s.events[2].id = "iv_1";
      s.events[3].arms = ["nmosd"];
      s.events[4].day = 0;
      const unscheduled = s.events.find((e: { id: string }) => e.id === "unscheduled");
      unscheduled.window = { before: 1, after: 1 };
    });
    const { errors } = checkDefinition(files);
    const unscheduled = (shipped.study.json as StudyFile).events.findIndex((e) => e.id === "unscheduled");
    const pointers = errors.filter((e) => e.file === fileOf("study")).map((e) => e.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining([
        "/sites/1/code",
        "/arms/1/id",
        "/events/2/id",
        "/events/3/arms/0",
        "/events/4/day",
        `/events/${unscheduled}/window`,
      ]),
    );
  });
});

describe("readFormsDirectory", () => {
  it('turns a JSON parse error into an error with the file path and pointer ""', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "forms-"));
    try {
      await cp(FORMS, dir, { recursive: true });
      const mri = path.join(dir, "instruments", "mri.json");
      const text = await readFile(mri, "utf8");
      await writeFile(mri, text.replace('"scan_date": {', '"scan_date": {,'));
      const read = await readFormsDirectory(dir);
      expect(read.files).toBeUndefined();
      expect(read.errors).toHaveLength(1);
      expect(read.errors[0]).toMatchObject({
        pointer: "",
        message: expect.stringMatching(/invalid JSON.*line \d+/),
      });
      expect(read.errors[0]?.file.endsWith("instruments/mri.json")).toBe(true);
      await expect(loadDefinition(dir)).rejects.toThrow(/mri\.json: \(file\): invalid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports a missing study.json", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "forms-"));
    try {
      await cp(path.join(FORMS, "instruments"), path.join(dir, "instruments"), { recursive: true });
      const read = await readFormsDirectory(dir);
      expect(read.files).toBeUndefined();
      expect(read.errors).toEqual([expect.objectContaining({ pointer: "", message: "file not found" })]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gives paths relative to the working directory", async () => {
    const read = await readFormsDirectory(path.relative(process.cwd(), FORMS) || ".");
    expect(read.files?.study.path).toBe(path.relative(process.cwd(), path.join(FORMS, "study.json")));
    const names = read.files?.instruments.map((f) => path.basename(f.path)) ?? [];
    expect(names.length).toBe(15);
    expect(names).toEqual([...names].sort());
  });
});

// ---------------------------------------------------------------------------
// Examples (tests/fixtures/examples/<instrument>.json), checked the way the engine reads the forms:
// JSON Schema, with `required` only for visible non-calculated fields; a hidden field must be empty;
// x-rules must hold (skipped while a field they read is empty).

interface Example {
  context?: { $event?: string; $arm?: string; $latest?: Record<string, Record<string, unknown>> };
  valid: FormData;
  invalid: { data: FormData; pointer: string; why: string }[];
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

function createAjv() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats.default(ajv, ["date", "date-time", "email"]);
  ajv.addFormat("time", TIME);
  ajv.addVocabulary([...ENGINE_KEYWORDS]);
  return ajv;
}

function hiddenFields(instrument: Instrument, data: FormData, context: object): Set<string> {
  const hidden = new Set<string>();
  const seen: FormData = {};
  for (const [field, schema] of Object.entries(instrument.properties)) {
    const rule = schema["x-visible-if"];
    if (rule !== undefined && !evaluate(rule, { ...context, ...seen })) hidden.add(field);
    else if (data[field] !== undefined) seen[field] = data[field];
  }
  return hidden;
}

function fieldOfPath(instancePath: string): string {
  return `/${instancePath.split("/")[1] ?? ""}`;
}

function schemaErrors(
  ajv: Ajv2020,
  instrument: Instrument,
  data: FormData,
  hidden: Set<string>,
): ErrorObject[] {
  const { $id: _id, required, ...rest } = instrument;
  const visibleRequired = (required ?? []).filter(
    (f) => !hidden.has(f) && instrument.properties[f]?.["x-calc"] === undefined,
  );
  const validate = ajv.compile({ ...rest, required: visibleRequired });
  return validate(data) ? [] : (validate.errors ?? []);
}

function engineErrors(ajv: Ajv2020, instrument: Instrument, data: FormData, context: object) {
  const hidden = hiddenFields(instrument, data, context);
  const schema = schemaErrors(ajv, instrument, data, hidden).map((e) =>
    e.keyword === "required" ? `/${String(e.params.missingProperty)}` : fieldOfPath(e.instancePath),
  );
  const hiddenNotEmpty = [...hidden].filter((f) => !isEmpty(data[f])).map((f) => `/${f}`);
  const rules = (instrument["x-rules"] ?? [])
    .filter(
      (rule) =>
        !logicVariables(rule.logic).some((v) => !v.startsWith("$") && isEmpty(data[v.split(".")[0] ?? ""])),
    )
    .filter((rule) => !evaluate(rule.logic, { ...context, ...data }))
    .map((rule) => `/${rule.field}`);
  return { schema, hiddenNotEmpty, rules, all: [...schema, ...hiddenNotEmpty, ...rules] };
}

describe("examples", async () => {
  const names = (await readdir(EXAMPLES)).filter((n) => n.endsWith(".json")).sort();
  const examples = await Promise.all(
    names.map(
      async (n) => [idOf(n), JSON.parse(await readFile(path.join(EXAMPLES, n), "utf8")) as Example] as const,
    ),
  );
  const ajv = createAjv();
  const instrument = (id: string) => shipped.instruments.find((f) => idOf(f.path) === id)?.json as Instrument;

  it("exist for every instrument", () => {
    expect(names.map(idOf)).toEqual(shipped.instruments.map((f) => idOf(f.path)));
  });

  it("every instrument compiles with ajv in strict mode", () => {
    for (const file of shipped.instruments) {
      const { $id: _id, ...schema } = file.json as Instrument;
      expect(() => ajv.compile(schema), file.path).not.toThrow();
    }
  });

  describe.each(examples)("%s", (id, example) => {
    const context = example.context ?? {};

    it("has a context event that collects the form", () => {
      const study = shipped.study.json as StudyFile;
      if (study.logs.includes(id)) expect(example.context?.$event).toBe("logs");
      else expect(study.events.find((e) => e.id === example.context?.$event)?.forms).toContain(id);
    });

    it("valid data passes: schema, visible required fields, branching and rules", () => {
      const form = instrument(id);
      const errors = engineErrors(ajv, form, example.valid, context);
      expect(errors.all, JSON.stringify(errors)).toEqual([]);
      for (const field of Object.keys(example.valid)) {
        expect(form.properties[field]?.["x-calc"], `${field} is calculated`).toBeUndefined();
      }
      expect(Object.keys(example.valid).length).toBeGreaterThan(0);
    });

    it("valid data passes the plain schema without `required`", () => {
      const { $id: _id, required: _r, ...rest } = instrument(id);
      const validate = ajv.compile(rest);
      expect(validate(example.valid), JSON.stringify(validate.errors)).toBe(true);
    });

    it("each invalid case fails at its pointer", () => {
      const form = instrument(id);
      expect(example.invalid.length).toBeGreaterThan(0);
      for (const bad of example.invalid) {
        const errors = engineErrors(ajv, form, bad.data, context);
        expect(errors.all, `${bad.why}: ${JSON.stringify(errors)}`).toContain(bad.pointer);
      }
    });

    it("at least one invalid case is rejected by the JSON Schema itself", () => {
      const form = instrument(id);
      const bySchema = example.invalid.filter((bad) => {
        const hidden = hiddenFields(form, bad.data, context);
        return schemaErrors(ajv, form, bad.data, hidden).some(
          (e) => fieldOfPath(e.instancePath) === bad.pointer,
        );
      });
      expect(bySchema.length).toBeGreaterThan(0);
    });
  });

  it("calculations give the expected values on the examples", () => {
    const byId = Object.fromEntries(examples);
    const calc = (form: string, field: string) => {
      const ex = byId[form] as Example;
      return evaluate(instrument(form).properties[field]?.["x-calc"], { ...ex.context, ...ex.valid });
    };
    expect(calc("infusion", "dose_per_kg")).toBe(0.34);
    expect(calc("eligibility", "eligible")).toBe(true);
    expect(calc("demographics", "age")).toBe(28);
  });
});

describe("date bounds (x-date-min / x-date-max)", () => {
  const dob = "/properties/date_of_birth";
  it("take an ISO date or today, only on a date field, and a real calendar day", () => {
    expectError(
      variant((_s, i) => {
        i.demographics.properties.date_of_birth["x-date-min"] = "yesterday";
      }),
      "demographics",
      `${dob}/x-date-min`,
    );
    expectError(
      variant((_s, i) => {
        i.demographics.properties.initials["x-date-max"] = "today";
      }),
      "demographics",
      "/properties/initials/x-date-max",
      /"format": "date"/,
    );
    expectError(
      variant((_s, i) => {
        i.demographics.properties.date_of_birth["x-date-min"] = "1900-02-30";
      }),
      "demographics",
      `${dob}/x-date-min`,
      /not a day of the calendar/,
    );
  });

  it('"study-start" needs the study\'s startDate, a real day', () => {
    expectError(
      variant((s) => {
        delete s.startDate;
      }),
      "consent",
      "/properties/consent_date/x-date-min",
      /needs "startDate" in study.json/,
    );
    expectError(
      variant((s) => {
        s.startDate = "2010-02-30";
      }),
      "study",
      "/startDate",
      /not a day of the calendar/,
    );
  });

  it("a minimum after the maximum is an error", () => {
    expectError(
      variant((_s, i) => {
        i.demographics.properties.date_of_birth["x-date-min"] = "2030-01-01";
        i.demographics.properties.date_of_birth["x-date-max"] = "2020-01-01";
      }),
      "demographics",
      `${dob}/x-date-max`,
      /before its minimum/,
    );
  });

  it("the shipped date of birth and every visit date are bounded (1900 … today; study start … today)", () => {
    const { definition } = checkDefinition(shipped);
    const fields = Object.values(definition?.instruments ?? {}).flatMap((i) => Object.entries(i.properties));
    const birth = fields.find(([name]) => name === "date_of_birth")?.[1];
    expect([birth?.["x-date-min"], birth?.["x-date-max"]]).toEqual(["1900-01-01", "today"]);
    const visits = fields.filter(([, f]) => f["x-visit-date"]);
    expect(visits.length).toBeGreaterThan(5);
    for (const [name, f] of visits)
      expect([name, f["x-date-min"], f["x-date-max"]]).toEqual([name, "study-start", "today"]);
    expect(definition?.study.startDate).toBe("2010-01-01");
  });
});

describe("soft checks and missing-data codes", () => {
  it("refuse a soft minimum above the soft maximum", () => {
    const files = variant((_, i) => {
      i.vital_signs.properties.temperature["x-soft-minimum"] = 41;
    });
    expectError(files, "vital_signs", "/properties/temperature/x-soft-maximum", /below soft minimum 41/);
  });

  it("refuse a soft bound outside the hard range", () => {
    const files = variant((_, i) => {
      i.vital_signs.properties.temperature["x-soft-maximum"] = 50;
    });
    expectError(files, "vital_signs", "/properties/temperature/x-soft-maximum", /outside the hard range/);
  });

  it("refuse a soft range on a field that is not a number", () => {
    const files = variant((_, i) => {
      i.vital_signs.properties.vs_time["x-soft-minimum"] = 1;
    });
    expectError(files, "vital_signs", "/properties/vs_time/x-soft-minimum", /does not apply/);
  });

  it("refuse a warning rule without a message and an unknown severity", () => {
    const noMessage = variant((_, i) => {
      const rule = i.vital_signs["x-rules"][0];
      rule.severity = "warning";
      delete rule.message;
    });
    expectError(noMessage, "vital_signs", "/x-rules/0", /message/);
    const unknown = variant((_, i) => {
      i.vital_signs["x-rules"][0].severity = "info";
    });
    expectError(unknown, "vital_signs", "/x-rules/0/severity");
  });

  it("refuse duplicate and malformed missing-data codes", () => {
    const dup = variant((s) => {
      s.missingCodes.push({ code: "unk", label: "Unknown again" });
    });
    expectError(dup, "study", "/missingCodes/4/code", /duplicate missing-data code/);
    const bad = variant((s) => {
      s.missingCodes[0].code = "not a code";
    });
    expectError(bad, "study", "/missingCodes/0/code");
  });
});

describe("the source data verification plan", () => {
  it("names instruments that exist", () => {
    const files = variant((study) => {
      study.sdv = { default: "critical", forms: { vital_sings: "all" } };
    });
    expectError(files, "study", "/sdv/forms/vital_sings", /no instrument "vital_sings".*vital_signs/);
  });

  it("says all, critical or none", () => {
    const files = variant((study) => {
      study.sdv = { default: "some" };
    });
    expectError(files, "study", "/sdv/default");
  });

  it("marks no calculated field as critical", () => {
    const files = variant((_study, instruments) => {
      instruments.demographics.properties.age["x-sdv-critical"] = true;
    });
    expectError(files, "demographics", "/properties/age/x-sdv-critical", /calculated/);
  });

  it("x-sdv-critical is a boolean", () => {
    const files = variant((_study, instruments) => {
      instruments.vital_signs.properties.heart_rate["x-sdv-critical"] = "yes";
    });
    expectError(files, "vital_signs", "/properties/heart_rate/x-sdv-critical");
  });
});
